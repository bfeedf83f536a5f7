package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func testExperiment(id, metric string) Experiment {
	return Experiment{
		ID: id, Name: "Checkout button", MetricEventType: metric, AllocationPercent: 100,
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Variants: []Variant{
			{ID: "control", Name: "Blue", Weight: 1, IsControl: true},
			{ID: "green", Name: "Green", Weight: 3, Config: `{"color":"green"}`},
		},
	}
}

func TestExperiments_CreateListGetAndConflict(t *testing.T) {
	s := openTestStore(t, "")
	a, b := testExperiment("a", "signup"), testExperiment("b", "purchase")
	b.CreatedAt = a.CreatedAt.Add(time.Hour)
	b.Description = "second"
	for _, e := range []Experiment{a, b} {
		if err := s.CreateExperiment(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateExperiment(a); !errors.Is(err, ErrConflict) {
		t.Errorf("second create of a: %v, want ErrConflict", err)
	}
	dup := testExperiment("c", "x")
	dup.Variants[1].ID = "control"
	if err := s.CreateExperiment(dup); !errors.Is(err, ErrConflict) {
		t.Errorf("create with a repeated variant id: %v, want ErrConflict", err)
	}
	list, err := s.ListExperiments(200)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "b" || list[1].ID != "a" || list[0].Variants != nil {
		t.Fatalf("list = %+v; want b then a, newest first, without variants", list)
	}
	if list[0].Status != StatusDraft || list[0].Description != "second" || !list[0].CreatedAt.Equal(b.CreatedAt) {
		t.Errorf("b listed as %+v", list[0])
	}
	if one, _ := s.ListExperiments(1); len(one) != 1 || one[0].ID != "b" {
		t.Errorf("limit 1 = %+v", one)
	}
	got, err := s.ExperimentByID("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Variants) != 2 || got.Variants[0] != a.Variants[0] || got.Variants[1] != a.Variants[1] {
		t.Errorf("variants = %+v, want %+v", got.Variants, a.Variants)
	}
	if _, err := s.ExperimentByID("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

func TestExperiments_TransitionsFollowTheRules(t *testing.T) {
	s := openTestStore(t, "")
	if err := s.CreateExperiment(testExperiment("x", "m")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	v0 := s.ScriptVersion()
	steps := []struct {
		to   string
		ok   bool
		from string
	}{
		{StatusCompleted, false, StatusDraft},
		{StatusActive, true, ""},
		{StatusActive, false, StatusActive},
		{StatusPaused, true, ""},
		{StatusActive, true, ""},
		{StatusPaused, true, ""},
		{StatusArchived, true, ""}, // paused→archived is allowed
		{StatusActive, false, StatusArchived},
	}
	for i, st := range steps {
		err := s.TransitionExperiment("x", st.to, t0.Add(time.Duration(i)*time.Hour))
		var te *TransitionError
		switch {
		case st.ok && err != nil:
			t.Fatalf("step %d →%s: %v", i, st.to, err)
		case !st.ok && (!errors.As(err, &te) || te.From != st.from || te.To != st.to):
			t.Fatalf("step %d →%s: %v, want a TransitionError from %s", i, st.to, err, st.from)
		}
	}
	e, _ := s.ExperimentByID("x")
	// started at the first activation, ended at archiving.
	if !e.StartedAt.Equal(t0.Add(time.Hour)) || !e.EndedAt.Equal(t0.Add(6*time.Hour)) || e.Status != StatusArchived {
		t.Errorf("after the steps: %+v", e)
	}
	if s.ScriptVersion() == v0 {
		t.Error("transitions must change ScriptVersion")
	}
	if err := s.TransitionExperiment("nope", StatusActive, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	for _, tr := range [][2]string{{"completed", "archived"}, {"draft", "active"}, {"active", "completed"}} {
		if !TransitionAllowed(tr[0], tr[1]) {
			t.Errorf("%s→%s refused", tr[0], tr[1])
		}
	}
}

// The results agree with a brute-force count over the stored events, on a
// randomized set of sessions: exposures tagged on any event type,
// conversions by type or by a custom event's data.name, anywhere in an
// exposed session, also in untagged events.
func TestExperimentResults_MatchBruteForceOverEvents(t *testing.T) {
	s := openTestStore(t, "")
	e := testExperiment("exp", "signup")
	if err := s.CreateExperiment(e); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	rng := rand.New(rand.NewPCG(7, 9))
	now := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	var events []Event
	for i := range 400 {
		sid := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		add := func(ev Event) {
			ev.SessionID, ev.SiteID, ev.CreatedAt = sid, []string{"one", "two"}[i%2], now
			if ev.Data == "" {
				ev.Data = "{}"
			}
			events = append(events, ev)
			w.AddEvent(ev)
		}
		if rng.IntN(5) > 0 { // exposed, maybe twice
			v := e.Variants[rng.IntN(2)].ID
			for range 1 + rng.IntN(2) {
				add(Event{EventType: "experiment_exposure", ExperimentID: "exp", VariantID: v, Data: `{"experiment_id":"exp","variant_id":"` + v + `"}`})
			}
		}
		switch rng.IntN(5) {
		case 0:
			add(Event{EventType: "signup"})
		case 1:
			add(Event{EventType: "custom", Data: `{"name":"signup","path":"/"}`})
		case 2:
			add(Event{EventType: "custom", Data: `{"name":"other","path":"/"}`})
		case 3:
			add(Event{EventType: "click", Data: `{"name":"signup"}`}) // not custom: no conversion
		}
	}
	add := Event{EventType: "signup", SiteID: "one", CreatedAt: now, Data: "{}"} // no session: nowhere
	w.AddEvent(add)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExperimentResults(e)
	if err != nil {
		t.Fatal(err)
	}

	exposed := map[string]map[string]bool{}
	converted := map[string]bool{}
	for _, ev := range events {
		if ev.ExperimentID == "exp" {
			if exposed[ev.VariantID] == nil {
				exposed[ev.VariantID] = map[string]bool{}
			}
			exposed[ev.VariantID][ev.SessionID] = true
		}
		if ev.EventType == "signup" || ev.EventType == "custom" && customName(&ev) == "signup" {
			converted[ev.SessionID] = true
		}
	}
	for i, v := range e.Variants {
		want := VariantResult{Impressions: len(exposed[v.ID])}
		for sid := range exposed[v.ID] {
			if converted[sid] {
				want.Conversions++
			}
		}
		if got[i] != want {
			t.Errorf("variant %s: %+v, want %+v", v.ID, got[i], want)
		}
		if want.Impressions < 100 || want.Conversions == 0 {
			t.Errorf("variant %s: the data set is too small to mean much: %+v", v.ID, want)
		}
	}
}

// The metric set survives a reopen, so events flushed after a restart are
// still indexed as conversions.
func TestExperimentResults_MetricsKnownAfterReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExperiment(testExperiment("e", "buy")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{})
	sid := "3b241101-e2bb-4255-8caf-4136c566a962"
	now := time.Now()
	w.AddEvent(Event{EventType: "experiment_exposure", SiteID: "s", SessionID: sid, ExperimentID: "e", VariantID: "green", Data: "{}", CreatedAt: now})
	w.AddEvent(Event{EventType: "buy", SiteID: "s", SessionID: sid, Data: "{}", CreatedAt: now})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	e, _ := s.ExperimentByID("e")
	got, err := s.ExperimentResults(e)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != (VariantResult{}) || got[1] != (VariantResult{1, 1}) {
		t.Errorf("results %+v; want control empty, green 1 of 1", got)
	}
}

func TestSiteSettings_RoundTripAndVersion(t *testing.T) {
	s := openTestStore(t, "")
	if st, found, err := s.SiteSettings("shop"); err != nil || found || st.ConsentCSS != "" {
		t.Fatalf("new site: %+v %v %v", st, found, err)
	}
	v0 := s.ScriptVersion()
	now := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	if err := s.SetConsentCSS("shop", "div{color:red}", now); err != nil {
		t.Fatal(err)
	}
	st, found, err := s.SiteSettings("shop")
	if err != nil || !found || st.ConsentCSS != "div{color:red}" || !st.UpdatedAt.Equal(now) {
		t.Fatalf("after set: %+v %v %v", st, found, err)
	}
	if s.ScriptVersion() == v0 {
		t.Error("SetConsentCSS must change ScriptVersion")
	}
	if err := s.SetConsentCSS("shop", "", now); err != nil {
		t.Fatal(err)
	}
	if st, found, _ := s.SiteSettings("shop"); !found || st.ConsentCSS != "" {
		t.Errorf("after clearing: %+v %v", st, found)
	}
	if err := s.SetConsentCSS("bad site", "x", now); err == nil {
		t.Error("an invalid site id was accepted")
	}
}

// Retention: entries whose last event is older than the cutoff day go,
// the others stay; a session seen again later keeps its entry.
func TestPurgeExperimentIndex_FollowsTheLastEvent(t *testing.T) {
	s := openTestStore(t, "")
	e := testExperiment("exp", "buy")
	if err := s.CreateExperiment(e); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	old := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	recent := old.AddDate(0, 0, 100)
	add := func(sid string, at time.Time, typ, variant string) {
		ev := Event{EventType: typ, SiteID: "s", SessionID: sid, Data: "{}", CreatedAt: at}
		if variant != "" {
			ev.ExperimentID, ev.VariantID = "exp", variant
		}
		w.AddEvent(ev)
	}
	const a, b, c = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"
	add(a, old, "experiment_exposure", "green") // old only: purged
	add(a, old, "buy", "")
	add(b, old, "experiment_exposure", "green") // seen again later: kept
	add(b, recent, "experiment_exposure", "green")
	add(b, recent, "buy", "")
	add(c, recent, "experiment_exposure", "control")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ExperimentResults(e)
	if got[0] != (VariantResult{1, 0}) || got[1] != (VariantResult{2, 2}) {
		t.Fatalf("before the purge: %+v", got)
	}
	n, err := s.PurgeExperimentIndex(old.AddDate(0, 0, 30))
	if err != nil || n != 2 {
		t.Fatalf("purged %d entries (%v), want 2 (a's exposure and conversion)", n, err)
	}
	got, _ = s.ExperimentResults(e)
	if got[0] != (VariantResult{1, 0}) || got[1] != (VariantResult{1, 1}) {
		t.Errorf("after the purge: %+v", got)
	}
}
