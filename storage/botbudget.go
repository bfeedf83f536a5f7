package storage

import (
	"sync"
	"sync/atomic"
)

// DefaultBotRowBudget is the default of max_bot_rows, the most bot rows
// (score 50 or more) of one kind (views or events) stored per site and
// UTC day. Bots can send without limit, and every stored row costs disk
// until bot_retention_days; past
// the budget a bot's row is dropped and counted (BotRowsDropped) instead,
// so a flood grows the store by at most budget × kinds × (registered sites
// + OtherSite) a day, whatever its rate. Clean rows are never dropped.
// The counts are kept in memory since the store was opened, so a restart
// can let a day store up to twice the budget.
const DefaultBotRowBudget = 20_000

// botBudget counts the bot rows stored per site, day and kind. Only the
// newest day seen is kept: a day's count is dropped when a later day
// begins (rows of a finished day arrive only from ingest, which is not
// budgeted: its rows score -1).
type botBudget struct {
	limit   int
	mu      sync.Mutex
	day     Day
	counts  map[botKey]int // sites are registered ones or OtherSite: bounded
	dropped atomic.Uint64
}

type botKey struct {
	site   string
	events bool
}

// take reports how many of n more bot rows of site, day and kind may be stored,
// may be stored (0 to n), taking them from the budget.
func (b *botBudget) take(site string, day Day, events bool, n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if day > b.day || b.counts == nil {
		b.day, b.counts = day, map[botKey]int{}
	}
	if day < b.day {
		return n // a late row of the day before: rare, kept
	}
	k := botKey{site, events}
	room := max(b.limit-b.counts[k], 0)
	took := min(n, room)
	b.counts[k] += took
	if took < n {
		b.dropped.Add(uint64(n - took))
	}
	return took
}

// BotRowsDropped is how many bot rows were dropped past the daily budget
// since the store was opened.
func (s *Store) BotRowsDropped() uint64 { return s.bots.dropped.Load() }

// overBudget returns the indexes of the bot rows among n records (placed
// under their sites) that the budget drops, or nil; bot and site describe
// record i.
func (s *Store) overBudget(n int, events bool, rec func(i int) (site string, day Day, bot bool)) map[int]bool {
	var drop map[int]bool
	for i := range n {
		site, day, bot := rec(i)
		if bot && s.bots.take(site, day, events, 1) == 0 {
			if drop == nil {
				drop = map[int]bool{}
			}
			drop[i] = true
		}
	}
	return drop
}

// SetBotRowBudget changes the daily bot row budget, DefaultBotRowBudget
// until it is set (the max_bot_rows option): 0 stores no bot rows. The
// day's counts so far stay.
func (s *Store) SetBotRowBudget(n int) {
	s.bots.mu.Lock()
	defer s.bots.mu.Unlock()
	s.bots.limit = max(n, 0)
}
