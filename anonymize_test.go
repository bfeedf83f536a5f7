package echelon

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/echelon-analytics/caddy-echelon/anonymize"
	"github.com/echelon-analytics/caddy-echelon/internal/geotest"
	"github.com/echelon-analytics/caddy-echelon/storage"
)

// The visitor's real values, each distinctive enough to be searched for
// in the raw store.
const (
	anonCookie   = "c0ffee00deadbeef" // the _ev cookie: the visitor id as sent
	anonPath     = "/quarterly-zq/report-xv"
	anonReferrer = "https://news-zq.example/article?x=1"
	anonCountry  = "QZ"
	anonExp      = "exp-zq-checkout"
	anonVariant  = "treatment-zq"
	anonFormText = "Jane.Doe42"
)

var anonUTM = map[string]string{"uc": "spring-sale-zq", "us": "newsletter-zq", "um": "email-zq", "uct": "banner-zq", "ut": "shoes-zq"}

// campaignsTable holds the campaign definitions the operator registered:
// their utm_campaign is configuration, not visitor data, so the scan
// skips it.
const campaignsTable = 0x0d

// sendVisit registers the campaign and sends one pageview and a batch of
// events for site from 127.0.0.7, which the country database places in
// anonCountry, with the _ev cookie as the visitor id.
func sendVisit(t *testing.T, dir, site string) {
	t.Helper()
	if status, _, raw := apiCall(t, "POST", "/_echelon/api/campaigns",
		`{"id":"c-`+site+`","name":"Spring","utm_campaign":"spring-sale-zq","site_id":"`+site+`"}`, testSecret); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create campaign: %d %s", status, raw)
	}
	set := map[string]string{"ref": b64(anonReferrer)}
	for k, v := range anonUTM {
		set[k] = b64(v)
	}
	cookie := http.Header{"Cookie": {"_ev=" + anonCookie}, "Referer": {anonReferrer}, "Origin": {"https://news-zq.example"}}
	beaconFromQuery(t, "127.0.0.7", beaconQuery(anonPath, site, set), cookie)
	tok := mint(t, dir, testSID, site, time.Now())
	body := `{"siteId":"` + site + `","tok":"` + tok + `","events":[
		{"type":"form_blur","sessionId":"` + testSID + `","utmCampaign":"spring-sale-zq","data":{"tag":"INPUT","field_name":"email","value":"` + anonFormText + `","value_length":10,"note":"secret-note-zq","path":"` + anonPath + `"}},
		{"type":"custom","sessionId":"` + testSID + `","data":{"name":"signup-zq","path":"` + anonPath + `"}},
		{"type":"experiment_exposure","sessionId":"` + testSID + `","data":{"experiment_id":"` + anonExp + `","variant_id":"` + anonVariant + `"}}
	]}`
	cookie.Set("Content-Type", "text/plain")
	if status := postFrom(t, "127.0.0.7", "/e", body, cookie); status != http.StatusNoContent {
		t.Fatalf("events: status %d", status)
	}
	// A server-side event through the ingest API.
	ingest := `{"v":1,"batch_id":"9b7c2f0e-1111-4222-8333-444455556666","context":{"session_id":"` + testSID + `","site_id":"` + site +
		`","device_class":"desktop"},"events":[{"event_id":"8b7c2f0e-1111-4222-8333-444455556666","type":"purchase","ts":"` + time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + `","path":"` + anonPath +
		`","data":{"amount":3,"coupon":"secret-note-zq"}}]}`
	if status, _, raw := apiCall(t, "POST", "/_echelon/api/ingest", ingest, testSecret); status != http.StatusOK || raw != `{"accepted":1,"duplicate":0}` {
		t.Fatalf("ingest: %d %s", status, raw)
	}
}

// needles are the real values in every form the store may hold them: as
// text, a visitor id packed from hex, a session id packed as a UUID, and
// the two-letter country behind its token or dimension byte.
func needles() map[string][][]byte {
	id, _ := hex.DecodeString(anonCookie)
	sid, _ := hex.DecodeString(strings.ReplaceAll(testSID, "-", ""))
	n := map[string][][]byte{
		"visitor id":   {[]byte(anonCookie), id},
		"session id":   {[]byte(testSID), sid},
		"path segment": {[]byte("quarterly-zq"), []byte("report-xv")},
		"referrer":     {[]byte("news-zq")},
		"country":      {{0x08, 'Q', 'Z'}, {0x04, 'Q', 'Z'}, {0x06, 'Q', 'Z'}, []byte(`"QZ"`)},
		"OS":           {[]byte("Windows")},
		"browser":      {[]byte("Chrome")},
		"experiment":   {[]byte(anonExp), []byte(anonVariant)},
		"form value":   {[]byte(anonFormText)},
		"dropped key":  {[]byte("secret-note-zq"), []byte("signup-zq")},
	}
	for k, v := range anonUTM {
		n["utm "+k] = [][]byte{[]byte(v)}
	}
	return n
}

// storeHolding unloads Caddy (every buffer and counter flushed, Badger
// closed), reopens the store and returns, per needle, whether any key or
// value of any version holds it.
func storeHolding(t *testing.T, dbDir string) map[string]bool {
	t.Helper()
	unload(t)
	st, err := storage.Open(storage.Options{Dir: dbDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	found := map[string]bool{}
	want := needles()
	err = st.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			if len(k) > 0 && k[0] == campaignsTable {
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			for name, forms := range want {
				for _, f := range forms {
					if bytes.Contains(k, f) || bytes.Contains(v, f) {
						found[name] = true
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func anonConfig(t *testing.T, extra string) string {
	db := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(db, map[string]string{"127.0.0.7/32": anonCountry}, geotest.GeoLite2); err != nil {
		t.Fatal(err)
	}
	return classicPoW("secret " + testSecret + "\ngeoip_db " + db + "\n" + extra)
}

// An anonymized site stores no real value of any listed field, in any
// key or value of the store; a site not in the list stores them all, which
// also shows that the scan finds each of them.
func TestAnonymize_NothingRealOnDisk(t *testing.T) {
	t.Run("site not in the list", func(t *testing.T) {
		_, dir := startCaddy(t, anonConfig(t, "anonymize_sites other-site"))
		sendVisit(t, dir, "plain")
		views, events := storedViews(t, dir, "plain"), storedEvents(t, dir, "plain")
		if len(views) != 1 || len(events) != 4 {
			t.Fatalf("stored %d views and %d events, want 1 and 4", len(views), len(events))
		}
		v := views[0]
		if v.VisitorID != anonCookie || v.SessionID != testSID || v.Path != anonPath || v.CountryCode != anonCountry ||
			v.Referrer != "https://news-zq.example" || v.UTMCampaign != "spring-sale-zq" || v.UTMTerm != "shoes-zq" ||
			!strings.HasPrefix(v.OSName, "Windows") || v.BrowserName != "Chrome" || v.ScreenWidth != 1920 {
			t.Errorf("plain view stored changed: %+v", v)
		}
		found := storeHolding(t, dir)
		for name := range needles() {
			if !found[name] {
				t.Errorf("the scan does not find the %s of a site stored unchanged", name)
			}
		}
	})
	t.Run("anonymized site", func(t *testing.T) {
		_, dir := startCaddy(t, anonConfig(t, "anonymize_sites other-site ANON"))
		sendVisit(t, dir, "anon")
		d := anonymize.New([]byte(testSecret)).Day(time.Now())
		views, events := storedViews(t, dir, "anon"), storedEvents(t, dir, "anon")
		if len(views) != 1 || len(events) != 4 {
			t.Fatalf("stored %d views and %d events, want 1 and 4", len(views), len(events))
		}
		v := views[0]
		cols, rows := d.Screen(1920, 1080)
		checks := []struct{ name, got, want string }{
			{"visitor", v.VisitorID, d.VisitorID(anonCookie)},
			{"session", v.SessionID, d.SessionID(testSID)},
			{"path", v.Path, d.Path(anonPath)},
			{"country", v.CountryCode, d.Country(anonCountry)},
			{"referrer", v.Referrer, d.Referrer("https://news-zq.example")},
			{"utm_campaign", v.UTMCampaign, d.UTM("spring-sale-zq")},
			{"utm_term", v.UTMTerm, d.UTM("shoes-zq")},
			{"browser", v.BrowserName, d.Browser("Chrome")},
			{"device", v.DeviceType, "mothership"},
			{"screen", anonymize.TerminalName(v.ScreenWidth, v.ScreenHeight), anonymize.TerminalName(cols, rows)},
			{"event visitor", events[0].VisitorID, d.VisitorID(anonCookie)},
			{"event session", events[0].SessionID, d.SessionID(testSID)},
			{"event data", events[0].Data, d.EventData("form_blur", `{"tag":"INPUT","field_name":"email","value":"`+anonFormText+`","value_length":10,"path":"`+anonPath+`"}`)},
			{"custom data", events[1].Data, "{}"},
			{"ingested session", events[3].SessionID, d.SessionID(testSID)},
			{"ingested data", events[3].Data, "{}"},
		}
		for _, c := range checks {
			if c.got != c.want || c.got == "" {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		// The dashboard names the terminal the screen became.
		shown := strings.Replace(fmt.Sprintf("%dx%d (%s)", cols, rows, anonymize.TerminalName(cols, rows)), "x", "×", 1)
		if _, body := dashDo(t, "GET", "/_echelon/?site_id=anon&days=1", nil, bearer(testSecret)); !strings.Contains(body, shown) {
			t.Errorf("the dashboard does not show the screen as %q", shown)
		}
		for name, ok := range storeHolding(t, dir) {
			if ok {
				t.Errorf("the store holds the real %s of an anonymized site", name)
			}
		}
	})
}
