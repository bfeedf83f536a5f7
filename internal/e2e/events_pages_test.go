package e2e

// Pages for the behaviour tests (events_test.go). Each loads ea.js like
// pageHTML does, with extra script tag attributes, and lays its targets out
// at fixed places, so that the tests can point the mouse at them. The spot
// clickBody uses (200, 300) is left empty on every page, and the pages
// that are not meant to scroll fit the test browser's viewport (780x437).

import "fmt"

// eventPage is a page that loads ea.js with the script tag attributes
// attrs, after the head snippet head.
func eventPage(attrs, head, body string) string {
	return fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>events</title>
<style>body{margin:0;min-height:100vh;font:16px sans-serif} .at{position:absolute}</style>
%s<script src="/ea.js?s=e2e" data-site="e2e" %s defer></script>
</head>
<body>
%s
</body></html>
`, head, attrs, body)
}

// Page bodies, shared by the pages with and without opt-outs.
const (
	// A tall page: 5000 px, so that the scroll milestones are far apart.
	tallBody = `<div style="height:5000px"><p>tall</p></div>`

	// A click target whose own attributes try to overwrite tag and path,
	// with a child to click on; an element with ten extra attributes and
	// a long value; and a hover card with a child.
	targetsBody = `<button id="buy" class="at" style="left:20px;top:20px;width:160px;height:60px"
	data-echelon-click="buy" data-echelon-plan-type="pro" data-echelon-tag="FAKE" data-echelon-path="/fake"><span id="buyLabel">Buy</span></button>
<div id="many" class="at" style="left:20px;top:100px;width:160px;height:60px" data-echelon-click="many"
	data-echelon-a1="1" data-echelon-a2="2" data-echelon-a3="3" data-echelon-a4="4" data-echelon-a5="5"
	data-echelon-a6="6" data-echelon-a7="7" data-echelon-a8="8" data-echelon-a9="9" data-echelon-a10="10">many</div>
<div id="card" class="at" style="left:400px;top:20px;width:300px;height:300px;background:#eee"
	data-echelon-hover="pricing" data-echelon-tier="gold"><div id="cardInner" style="margin:100px;height:100px;background:#ccc">inner</div></div>
<div id="plain" class="at" style="left:20px;top:200px;width:160px;height:60px">plain</div>`

	// Links; each cancels its navigation in a bubbling listener, after
	// ea.js's capturing one has seen the click.
	linksBody = `<script>document.addEventListener("click", function (e) { if (e.target.closest("a")) e.preventDefault(); });</script>
<a id="out" class="at" style="left:20px;top:20px" href="http://example.invalid/about?q=1">Example
	site</a>
<a id="file" class="at" style="left:20px;top:60px" href="http://example.invalid/file.pdf" data-echelon-click="pdf">Get the PDF</a>
<a id="local" class="at" style="left:20px;top:100px" href="/files/Data%20Set.CSV">CSV</a>
<a id="mail" class="at" style="left:20px;top:140px" href="mailto:someone@example.invalid">mail</a>
<a id="inside" class="at" style="left:20px;top:180px" href="/page2.html" data-echelon-click="nav"><span>inside</span></a>`

	// A form with a text, a password and a hidden field; its submission
	// is cancelled after ea.js's capturing listener saw it.
	formBody = `<form id="signup" name="signupForm" action="/submit?x=1" method="post" data-echelon-form="Sign up"
	onsubmit="event.preventDefault()" class="at" style="left:20px;top:20px">
<input id="email" name="email" type="text" style="display:block;width:200px;height:30px">
<input id="pw" name="secret" type="password" style="display:block;width:200px;height:30px">
<input type="hidden" name="h" value="hidden value">
<button id="send" type="submit" style="display:block;width:200px;height:30px">Send</button>
</form>`

	// A large text block for LCP; 600 ms after load a block is inserted
	// above it, a layout shift without input (CLS). A click handler busy
	// for 250 ms makes a slow interaction (INP).
	vitalsBody = `<div id="shift"></div>
<h1 style="font-size:48px;margin:0 0 0 300px">Largest paint</h1>
<p style="margin-left:300px">Some text below the heading.</p>
<script>
setTimeout(function () {
	var b = document.createElement("div");
	b.style.height = "250px";
	document.getElementById("shift").appendChild(b);
}, 600);
document.addEventListener("click", function () {
	var end = performance.now() + 250;
	while (performance.now() < end) {}
});
</script>`
)

// eventPages are the behaviour test pages, by path.
var eventPages = map[string]string{
	"/spa.html":        eventPage("", "", `<p>spa</p>`),
	"/bounce.html":     eventPage(`data-bounce-ms="1500"`, "", `<p>bounce</p>`),
	"/scroll.html":     eventPage("", "", tallBody),
	"/click.html":      eventPage("", "", targetsBody),
	"/links.html":      eventPage("", "", linksBody),
	"/form.html":       eventPage("", "", formBody),
	"/formvalues.html": eventPage("data-form-values", "", formBody),
	"/vitals.html":     eventPage("", "", vitalsBody),
	// A browser without sendBeacon: events go by XHR.
	"/nobeacon.html": eventPage("", "<script>delete Navigator.prototype.sendBeacon;</script>\n", `<p>no beacon</p>`),
	// Every behaviour the script tag can turn off, turned off, on a page
	// that has a target for each.
	"/optout.html": eventPage(
		"data-no-clicks data-no-scroll data-no-hover data-no-outbound data-no-downloads data-no-forms data-no-vitals", "",
		`<div style="position:absolute;top:0;left:0;width:100%;height:5000px"></div>`+targetsBody+
			`<div class="at" style="left:20px;top:500px">`+linksBody+`</div>`+
			`<div class="at" style="left:20px;top:700px;width:300px;height:200px">`+formBody+`</div>`+vitalsBody),
}
