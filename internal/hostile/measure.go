package hostile

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// LiveHeap is the live heap after two collections.
func LiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// DiskBytes is the space the files under dir take on disk (allocated
// blocks, so Badger's sparse, preallocated files count for what they hold).
func DiskBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += allocated(info)
		return nil
	})
	return total, err
}

// Seed sends n clean pageviews of site, each from its own address (as
// X-Forwarded-For) with browser headers, a human interaction time and a
// valid proof of work from mint, so every one is stored with score 0.
func Seed(base, site string, n int, mint func(sid string) (string, error)) error {
	for i := range n {
		sid := fmt.Sprintf("0b7c2f0e-%04x-4222-8333-%012d", i>>16, i)
		tok, err := mint(sid)
		if err != nil {
			return fmt.Errorf("mint: %w", err)
		}
		q := url.Values{}
		q.Set("p", base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "/page/%d", i%40)))
		q.Set("s", site)
		q.Set("_v", "1500")
		q.Set("sw", "1920")
		q.Set("sh", "1080")
		q.Set("sid", sid)
		q.Set("tok", tok)
		req, err := http.NewRequest("GET", base+"/b.gif?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		req.Header.Set("Accept-Language", "en-US,en;q=0.9")
		req.Header.Set("Sec-Ch-Ua", `"Chromium";v="131", "Not_A Brand";v="24"`)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.1.%d.%d", i>>8&0xff, i&0xff))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("seed beacon: status %d", resp.StatusCode)
		}
	}
	return nil
}

// Queries are the reads whose cost the load must not raise, for site.
func Queries(adminBase, site string) map[string]string {
	return map[string]string{
		"overview":   adminBase + "/api/stats/overview?site_id=" + site + "&days=7",
		"summary":    adminBase + "/api/stats/summary",
		"suspicious": adminBase + "/api/bots/suspicious?site_id=" + site,
	}
}

// Get fetches url with the bearer token and decodes its JSON answer into
// v (unless nil).
func Get(target, token string, v any) error {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %.200s", target, resp.StatusCode, body)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}

// Time is the median time of runs GETs of target, after five unmeasured
// ones (caches warm).
func Time(target, token string, runs int) (time.Duration, error) {
	var ds []time.Duration
	const warm = 5
	for i := range runs + warm {
		start := time.Now()
		if err := Get(target, token, nil); err != nil {
			return 0, err
		}
		if i >= warm {
			ds = append(ds, time.Since(start))
		}
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// Visits is the overview's clean view count of site over 7 days.
func Visits(adminBase, site, token string) (uint64, error) {
	var o struct {
		Visits uint64 `json:"visits"`
	}
	err := Get(adminBase+"/api/stats/overview?site_id="+site+"&days=7", token, &o)
	return o.Visits, err
}
