package echelon

import (
	"net/http"
	"strings"
	"testing"
)

// siteConfigOf returns the per-site JSON string embedded in an ea.js body
// (still escaped as the JS string literal it sits in).
func siteConfigOf(t *testing.T, js string) string {
	t.Helper()
	i := strings.Index(js, `"{`)
	if i < 0 {
		t.Fatalf("no site configuration in ea.js")
	}
	j := strings.Index(js[i+1:], `}"`)
	return js[i+1 : i+j+2]
}

// The script of a site carries its consent CSS and the active
// experiments, and a write through the API shows in the next script: the
// cache is keyed by the store's settings version, not by time.
func TestScript_EmbedsSiteSettingsAndExperimentsAfterWrites(t *testing.T) {
	startCaddy(t, "secret "+manageSecret+"\n\t\tcookie_consent\n\t\tanonymize_sites Shop")
	get := func(site string) (string, string) {
		t.Helper()
		s, h, b := do(t, "GET", baseURL+"/ea.js?s="+site, nil, nil)
		if s != 200 {
			t.Fatalf("ea.js: %d", s)
		}
		return siteConfigOf(t, b), h.Get("Etag")
	}
	cfg0, etag0 := get("shop")
	if cfg0 != `{\"a\":1,\"c\":1}` {
		t.Errorf("shop's configuration %s; want the banner and anonymization on", cfg0)
	}
	if cfg, _ := get("other"); cfg != `{\"c\":1}` {
		t.Errorf("other's configuration %s; want the banner only", cfg)
	}

	callManage(t, "PATCH", "/_echelon/api/sites/shop", manageSecret, `{"consent_css":"button{color:red;background:url(x)}"}`)
	cfg1, etag1 := get("shop")
	if want := `{\"a\":1,\"c\":1,\"css\":\"button{color:red;background:/* blocked */x)}\"}`; cfg1 != want || etag1 == etag0 {
		t.Errorf("after the PATCH: %s (etag changed %v); want %s", cfg1, etag1 != etag0, want)
	}
	if cfg, _ := get("other"); cfg != `{\"c\":1}` {
		t.Errorf("other's configuration after shop's PATCH: %s", cfg)
	}

	callManage(t, "POST", "/_echelon/api/experiments", manageSecret, checkoutExperiment)
	if cfg, _ := get("shop"); cfg != cfg1 {
		t.Errorf("a draft experiment is in the script: %s", cfg)
	}
	callManage(t, "PATCH", "/_echelon/api/experiments/checkout", manageSecret, `{"status":"active"}`)
	// Every site's script carries every active experiment.
	for _, site := range []string{"shop", "other"} {
		if cfg, _ := get(site); !strings.Contains(cfg, `\"x\":{\"checkout\":[100,[\"green\",3],[\"control\",1]]}`) {
			t.Errorf("%s after activating: %s", site, cfg)
		}
	}
	callManage(t, "PATCH", "/_echelon/api/experiments/checkout", manageSecret, `{"status":"paused"}`)
	if cfg, _ := get("shop"); strings.Contains(cfg, "checkout") {
		t.Errorf("a paused experiment is still in the script: %s", cfg)
	}
	// An unchanged script keeps its ETag: 304.
	_, etag := get("shop")
	if s, _, _ := do(t, "GET", baseURL+"/ea.js?s=shop", nil, http.Header{"If-None-Match": {etag}}); s != 304 {
		t.Errorf("revalidation: %d, want 304", s)
	}
}

// Without cookie_consent and anonymization, the configuration is empty.
func TestScript_PlainSiteHasEmptyConfiguration(t *testing.T) {
	startCaddy(t, "")
	_, _, b := do(t, "GET", baseURL+"/ea.js?s=shop", nil, nil)
	if cfg := siteConfigOf(t, b); cfg != "{}" {
		t.Errorf("configuration %s, want {}", cfg)
	}
}
