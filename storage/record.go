package storage

import "time"

// View is one stored pageview (docs/privacy.md, What is stored). An empty
// string or a zero number stands for null in the API.
type View struct {
	ID        uint64    // assigned by the writer at flush; increasing, encodes CreatedAt (ids.go)
	CreatedAt time.Time // UTC; stored as the id's millisecond, never before an earlier-stored view's

	VisitorID, Path, SiteID string

	SessionID, DeviceType, OSName, BrowserName, BrowserVersion, CountryCode string

	InteractionMS             int64
	ScreenWidth, ScreenHeight int // 0 = null

	IsReturning, IsPWA bool

	Referrer, ReferrerType string

	BotScore       int    // 0..100, -1 for server-ingested
	BotScoreDetail string // JSON object text, "" = null

	UTMSource, UTMMedium, UTMCampaign, UTMContent, UTMTerm string
}

// Event is one stored semantic event (docs/tracker.md, Events).
type Event struct {
	ID        uint64    // as View.ID
	CreatedAt time.Time // as View.CreatedAt

	EventType, SiteID string

	SessionID, VisitorID, Data, ExperimentID, VariantID, UTMCampaign, DeviceType, BotScoreDetail string // Data = JSON text

	Referrer string

	Hour, Month, DayOfWeek int // UTC at receipt; DayOfWeek 0 = Sunday; Month 1-12

	IsReturning bool

	BotScore int

	// Tracked marks an event the collector took from the tracker. It is
	// not stored: at flush the experiment index takes a tracked event only
	// if its session sent a pageview with a valid proof of work
	// (Store.SetProvenSessions). Imported rows are not tracked.
	Tracked bool
}

// The codec walks these field lists in order; the order is part of the
// encoding (see codec.go) and must not change within a version. Frequent
// fields come first so the presence mask stays short.

func viewStrings(v *View) [16]*string {
	return [16]*string{
		&v.VisitorID, &v.Path, &v.SessionID, &v.DeviceType,
		&v.OSName, &v.BrowserName, &v.BrowserVersion, &v.CountryCode,
		&v.Referrer, &v.ReferrerType, &v.BotScoreDetail,
		&v.UTMSource, &v.UTMMedium, &v.UTMCampaign, &v.UTMContent, &v.UTMTerm,
	}
}

func viewInts(v *View) [4]int64 {
	return [4]int64{int64(v.BotScore), v.InteractionMS, int64(v.ScreenWidth), int64(v.ScreenHeight)}
}

func setViewInts(v *View, n [4]int64) {
	v.BotScore, v.InteractionMS, v.ScreenWidth, v.ScreenHeight = int(n[0]), n[1], int(n[2]), int(n[3])
}

func eventStrings(e *Event) [10]*string {
	return [10]*string{
		&e.EventType, &e.SessionID, &e.VisitorID, &e.Data, &e.Referrer,
		&e.DeviceType, &e.BotScoreDetail, &e.UTMCampaign, &e.ExperimentID, &e.VariantID,
	}
}

func eventInts(e *Event) [4]int64 {
	return [4]int64{int64(e.BotScore), int64(e.Hour), int64(e.Month), int64(e.DayOfWeek)}
}

func setEventInts(e *Event, n [4]int64) {
	e.BotScore, e.Hour, e.Month, e.DayOfWeek = int(n[0]), int(n[1]), int(n[2]), int(n[3])
}
