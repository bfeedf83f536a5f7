package storage

import (
	"fmt"
	"testing"
	"time"
)

// budgetViews are n views of one site, humans (score 0) and bots (score
// 50-99) alternating, 200 visitors; the first, clean, registers the site.
func budgetViews(n int) []View {
	out := make([]View, n)
	for i := range out {
		score := 0
		if i%2 == 1 {
			score = 50 + i%50
		}
		out[i] = View{SiteID: "a", VisitorID: fmt.Sprintf("%016x", i%200), Path: fmt.Sprintf("/%d", i),
			BotScore: score, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
	}
	return out
}

func pageviews(rows []SuspiciousVisitor) int {
	n := 0
	for _, r := range rows {
		n += r.Pageviews
	}
	return n
}

// TestSuspiciousVisitors_ReadBudget: whatever min_score asks, one query
// reads at most the budget's views, indexed or not, highest scores first;
// within the budget it answers as before.
func TestSuspiciousVisitors_ReadBudget(t *testing.T) {
	s := openTestStore(t, "")
	storeViews(t, s, budgetViews(1000)...)
	if _, err := s.IndexScores(); err != nil {
		t.Fatal(err)
	}
	storeViews(t, s, budgetViews(1000)[:100]...) // an unindexed tail
	for _, min := range []int{0, 1, 25, 90} {
		full, err := s.SuspiciousVisitors("", min, 200)
		if err != nil {
			t.Fatal(err)
		}
		s.budgets.suspicious = 300
		cut, err := s.SuspiciousVisitors("a", min, 200)
		s.budgets.suspicious = SuspiciousBudget
		if err != nil {
			t.Fatal(err)
		}
		if pageviews(cut) > 300 || pageviews(full) <= 300 && pageviews(cut) != pageviews(full) {
			t.Errorf("min_score %d: %d views with a budget of 300 (%d without)", min, pageviews(cut), pageviews(full))
		}
		if len(cut) > 0 && len(full) > 0 && cut[0].MaxBotScore != full[0].MaxBotScore {
			t.Errorf("min_score %d: top score %d under the budget, %d without", min, cut[0].MaxBotScore, full[0].MaxBotScore)
		}
	}
}

// BenchmarkSuspicious times GET /api/bots/suspicious?min_score=0 (every
// view qualifies) on stores of 20,000 and 200,000 views with the default
// budget (SuspiciousBudget = 10,000 views): both cost what the budget
// allows, the larger not ten times the smaller. views/op is the views the
// answer covers.
func BenchmarkSuspicious(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		b.Run(fmt.Sprintf("views=%d", n), func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := s.NewWriter(WriterConfig{ViewFlush: time.Hour, EventFlush: time.Hour})
			for i, v := range budgetViews(n) {
				w.AddView(v)
				if i%5000 == 4999 {
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.IndexScores(); err != nil {
				b.Fatal(err)
			}
			var rows []SuspiciousVisitor
			b.ResetTimer()
			for b.Loop() {
				if rows, err = s.SuspiciousVisitors("", 0, 200); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pageviews(rows)), "views/op")
		})
	}
}
