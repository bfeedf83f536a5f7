package seed

import (
	"testing"
	"time"

	"github.com/echelon-analytics/caddy-echelon/storage"
)

// TestWrite_RepeatableAndRealistic: the same options write the same
// history, with every day present, a long tail of paths, bots and events.
func TestWrite_RepeatableAndRealistic(t *testing.T) {
	end := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	overview := func() storage.Overview {
		st, err := storage.Open(storage.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		res, err := Write(st, Options{Site: "s", Days: 4, Views: 4000, End: end, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if res.Views != 4000 || res.BotViews == 0 || res.BotViews > 400 || res.Events < 1000 {
			t.Fatalf("wrote %+v", res)
		}
		o, err := st.Overview("s", 4, end)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a, b := overview(), overview()
	if a.Visits != b.Visits || a.UniqueVisitors != b.UniqueVisitors || len(a.TopPaths) != len(b.TopPaths) || a.TopPaths[0] != b.TopPaths[0] {
		t.Errorf("same options, different data: %+v vs %+v", a.TopPaths[:1], b.TopPaths[:1])
	}
	if len(a.DailyTrend) != 4 || len(a.TopPaths) != 20 || a.TopPaths[0].Views < 5*a.TopPaths[19].Views {
		t.Errorf("trend %v, paths %v: want 4 days and a long tail", a.DailyTrend, a.TopPaths)
	}
	if len(a.Countries) < 8 || len(a.Devices) < 3 || len(a.Referrers) < 3 {
		t.Errorf("countries %d, devices %d, referrer classes %d", len(a.Countries), len(a.Devices), len(a.Referrers))
	}
}

func TestWrite_RejectsBadOptions(t *testing.T) {
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, o := range []Options{{Site: "bad site", Days: 1}, {Site: "s", Days: 0}, {Site: "s", Days: 1, Views: -1}} {
		if _, err := Write(st, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
