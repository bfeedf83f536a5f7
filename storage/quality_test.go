package storage

import (
	"testing"
	"time"
)

// TestQuality_VerifiedBotsByReasonAndDrops: clean views with a valid
// proof are verified; stored bot rows count under the reason their detail
// gives; drops counted in memory show at once, are written with the
// counters, go to (other) for an unregistered site, and survive a rebuild
// of the day from its rows, which re-derives everything else alike.
func TestQuality_VerifiedBotsByReasonAndDrops(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	now := time.Now().UTC()
	view := func(n, score int, detail string) {
		for range n {
			w.AddView(View{CreatedAt: now, SiteID: "q", VisitorID: "v1", Path: "/", BotScore: score, BotScoreDetail: detail})
		}
	}
	view(3, 0, `{"pow":0,"pow_result":"valid"}`)
	view(2, 15, `{"pow":15,"pow_result":"missing"}`)
	view(4, 50, `{"pow":50,"pow_result":"missing"}`)
	view(3, 70, `{"headers":20,"pow":50,"pow_result":"invalid"}`)
	view(2, 50, `{"pow":50,"pow_result":"replayed"}`)
	view(1, 55, `{"headers":20,"timing":20,"pow":15,"pow_result":"expired"}`)
	view(1, 60, `{"cf":50,"burst":10,"pow":0,"pow_result":"valid"}`)
	view(1, 65, `{"pow":0,"pow_result":"valid","correlated":{"reason":"correlated","penalty":50}}`)
	for range 2 {
		w.AddEvent(Event{CreatedAt: now, SiteID: "q", VisitorID: "v1", EventType: "click", BotScore: 50, BotScoreDetail: `{"pow":50,"pow_result":"missing"}`})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	s.CountDrop("q", ReasonKnownUA, false, 5)
	s.CountDrop("q", ReasonRateLimited, false, 7)
	s.CountDrop("q", ReasonExcluded, true, 2)
	s.CountDrop("never-clean", ReasonKnownUA, false, 3)

	want := [NumReasons][2]uint64{}
	want[ReasonKnownUA][0] = 5
	want[ReasonRateLimited][0] = 7
	want[ReasonExcluded][1] = 2
	want[ReasonPoWMissing] = [2]uint64{4, 2}
	want[ReasonPoWInvalid][0] = 3
	want[ReasonPoWReplayed][0] = 2
	want[ReasonPoWExpired][0] = 1
	want[ReasonThreshold][0] = 1
	want[ReasonCorrelator][0] = 1
	check := func(when string) {
		t.Helper()
		q, err := s.Quality("q", 1, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != 2 || q[0].Day != DayOf(now)-1 || q[1].Day != DayOf(now) {
			t.Fatalf("%s: days %+v", when, q)
		}
		d := q[1]
		if d.Views != 5 || d.Verified != 3 || d.BotViews != 12 || d.Filtered != want {
			t.Errorf("%s: %+v\nwant views 5, verified 3, bot views 12, filtered %v", when, d, want)
		}
		o, err := s.Quality(OtherSite, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if o[0].Filtered[ReasonKnownUA][0] != 3 {
			t.Errorf("%s: (other) %+v, want the unregistered site's 3 known-bot drops", when, o[0])
		}
	}
	check("undrained")
	if err := w.Flush(); err != nil { // drains the drops into the pending counters
		t.Fatal(err)
	}
	check("pending")
	if err := s.agg.flush(); err != nil {
		t.Fatal(err)
	}
	check("written")
	s.agg.mu.Lock()
	_, err := s.agg.rederive("q", DayOf(now), nil, true)
	s.agg.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	check("re-derived from the rows")
}

func TestQuality_RowReason(t *testing.T) {
	for _, c := range []struct {
		detail string
		want   Reason
	}{
		{`{"pow":50,"pow_result":"missing"}`, ReasonPoWMissing},
		{`{"pow":50,"pow_result":"invalid"}`, ReasonPoWInvalid},
		{`{"pow":15,"pow_result":"expired"}`, ReasonPoWExpired},
		{`{"pow":50,"pow_result":"replayed"}`, ReasonPoWReplayed},
		{`{"pow":0,"pow_result":"valid","cf":50}`, ReasonThreshold},
		{`{"cf":50}`, ReasonThreshold},
		{``, ReasonThreshold},
		{`{"pow":50,"pow_result":"missing","correlated":{"penalty":30}}`, ReasonCorrelator},
		{`{"pow_result":"`, ReasonThreshold},
	} {
		if got := rowReason(c.detail); got != c.want {
			t.Errorf("rowReason(%s) = %v, want %v", c.detail, got, c.want)
		}
	}
	if !proofValid(`{"pow":0,"pow_result":"valid"}`) || proofValid(`{"pow":50,"pow_result":"invalid"}`) || proofValid("") {
		t.Error("proofValid")
	}
}
