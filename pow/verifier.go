package pow

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Outcome is the result of checking a token.
type Outcome int

const (
	Valid    Outcome = iota
	Missing          // no token
	Invalid          // malformed, from the future, wrong hash or too little work
	Replayed         // a pageview token seen before
	Expired          // verifies, but older than the window; scored apart from Invalid (a slow visitor, not a forgery)
)

var outcomeNames = [...]string{"valid", "missing", "invalid", "replayed", "expired"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Defaults and limits of Config.
const (
	DefaultWindow        = 10 // minutes
	MaxWindow            = 60
	DefaultDifficulty    = 16 // leading zero bits; see the package doc
	DefaultMaxDifficulty = 20
	MaxDifficultyLimit   = 32
	FlagStep             = 2 // bits added per live flag
	DefaultReplayCap     = 250_000
	DefaultSessionCap    = 100_000
	DefaultFlagCap       = 50_000

	// SessionTTL is how long a session stays verified after its last valid
	// pageview (at least; up to five minutes more, see caches.go).
	SessionTTL = 30 * time.Minute
)

// Config configures a Verifier. Zero fields take the defaults.
type Config struct {
	// Secret is the instance secret every derivation starts from. Nodes
	// sharing it serve the same modules and accept each other's tokens.
	// The caller supplies the generated-and-stored one if none is
	// configured. Required.
	Secret []byte
	// Window is how many minutes back a token's bucket may lie (1..60).
	// One bucket in the future is also accepted, for clock skew between
	// nodes.
	Window int
	// Difficulty is the base number of leading zero bits a token's hash
	// needs; MaxDifficulty caps what Flag can raise it to.
	Difficulty    int
	MaxDifficulty int
	// Hard caps on entries of the replay, verified-session and flag caches.
	ReplayCap, SessionCap, FlagCap int
	// Generate emits the module for parameters; nil means SolverWasm.
	Generate func(*Params) []byte
	// OnError receives module self-check failures; nil drops them.
	OnError func(error)
}

// Verifier issues puzzles and checks tokens. It is safe for concurrent use.
type Verifier struct {
	window     int64
	difficulty int
	maxDiff    int

	challengeKey [32]byte
	challenges   []atomic.Pointer[challengeEntry] // by bucket mod len
	rotator      *Rotator

	replay   *replayCache
	sessions *sessionCache
	flags    *flagCache
}

type challengeEntry struct {
	bucket int64
	hex    [32]byte
	str    string
}

// NewVerifier validates cfg and returns a Verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("pow: empty secret")
	}
	setDefault(&cfg.Window, DefaultWindow)
	setDefault(&cfg.Difficulty, DefaultDifficulty)
	setDefault(&cfg.MaxDifficulty, max(DefaultMaxDifficulty, cfg.Difficulty))
	setDefault(&cfg.ReplayCap, DefaultReplayCap)
	setDefault(&cfg.SessionCap, DefaultSessionCap)
	setDefault(&cfg.FlagCap, DefaultFlagCap)
	switch {
	case cfg.Window < 1 || cfg.Window > MaxWindow:
		return nil, fmt.Errorf("pow: window %d minutes outside 1..%d", cfg.Window, MaxWindow)
	case cfg.Difficulty < 1 || cfg.MaxDifficulty > MaxDifficultyLimit || cfg.Difficulty > cfg.MaxDifficulty:
		return nil, fmt.Errorf("pow: difficulty %d..%d outside 1..%d", cfg.Difficulty, cfg.MaxDifficulty, MaxDifficultyLimit)
	case cfg.ReplayCap < 0 || cfg.SessionCap < 0 || cfg.FlagCap < 0:
		return nil, errors.New("pow: negative cache cap")
	}
	return &Verifier{
		window:       int64(cfg.Window),
		difficulty:   cfg.Difficulty,
		maxDiff:      cfg.MaxDifficulty,
		challengeKey: ChallengeKey(cfg.Secret),
		challenges:   make([]atomic.Pointer[challengeEntry], cfg.Window+2),
		rotator:      NewRotator(cfg.Secret, cfg.Generate, cfg.OnError),
		replay:       newReplayCache(cfg.Window, cfg.ReplayCap),
		sessions:     newSessionCache(cfg.SessionCap),
		flags:        newFlagCache(cfg.FlagCap),
	}, nil
}

func setDefault(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

// Puzzle is what ea.js embeds at one moment: the bucket and its challenge,
// and the module of the bucket's epoch. Take all three from one Puzzle.
type Puzzle struct {
	Bucket    int64
	Challenge string // 32 lowercase hex
	Module    *Generation
}

// Puzzle returns the current puzzle. An error means no module passed its
// self-check (the error was also passed to OnError).
func (v *Verifier) Puzzle(now time.Time) (Puzzle, error) {
	b := Bucket(now)
	gen, err := v.rotator.Get(BucketEpoch(b))
	if err != nil {
		return Puzzle{}, err
	}
	return Puzzle{Bucket: b, Challenge: v.challenge(b, true).str, Module: gen}, nil
}

// challenge returns the bucket's challenge. Buckets inside the window are
// cached (one slot each), so each costs one HMAC per node; others (old
// tokens of verified sessions) are computed each time and not cached, so
// they cannot push out current ones.
func (v *Verifier) challenge(bucket int64, cache bool) *challengeEntry {
	slot := &v.challenges[uint64(bucket)%uint64(len(v.challenges))]
	if e := slot.Load(); e != nil && e.bucket == bucket {
		return e
	}
	e := &challengeEntry{bucket: bucket, hex: challengeHex(v.challengeKey[:], bucket)}
	e.str = string(e.hex[:])
	if cache {
		slot.Store(e)
	}
	return e
}

// verify checks tok for sid and site without remembering it: Valid if it
// is well formed, its bucket lies in [now−maxAge, now+1] (Expired if it
// verifies but is older), its hash is H(challenge:sid:site:nonce) under the
// bucket's epoch module, and that hash has at least bits leading zero bits
// (bits below the base difficulty count as the base). It does not allocate
// once the bucket's challenge and the epoch's module are cached.
func (v *Verifier) verify(tok, sid, site string, bits int, nowBucket, maxAge int64) (Outcome, token) {
	if tok == "" {
		return Missing, token{}
	}
	t, ok := parseToken(tok)
	if !ok || t.bucket > nowBucket+1 {
		return Invalid, t
	}
	if t.bucket < nowBucket-maxAge {
		// Too old to be valid, but only a token that verifies is Expired
		// (a slow visitor); a made-up one is Invalid. Old epochs' modules
		// are not generated for this: their parameters are one HMAC.
		p := v.rotator.ParamsOf(BucketEpoch(t.bucket))
		if !v.verifyHash(t, sid, site, bits, &p, false) {
			return Invalid, t
		}
		return Expired, t
	}
	gen, err := v.rotator.Get(BucketEpoch(t.bucket))
	if err != nil {
		return Invalid, t
	}
	if !v.verifyHash(t, sid, site, bits, &gen.Params, t.bucket >= nowBucket-v.window) {
		return Invalid, t
	}
	return Valid, t
}

// verifyHash reports whether t's hash is H(challenge:sid:site:nonce)
// under p with enough leading zero bits; cache keeps the bucket's
// challenge for later tokens.
func (v *Verifier) verifyHash(t token, sid, site string, bits int, p *Params, cache bool) bool {
	var buf [maxInputLen]byte
	ch := v.challenge(t.bucket, cache)
	n := hashInput(&buf, ch.hex[:], sid, site, t.nonce)
	if n < 0 {
		return false
	}
	h := Hash(p, buf[:n])
	return subtle.ConstantTimeCompare(h[:], t.hash[:]) == 1 && LeadingZeroBits(h) >= max(bits, v.difficulty)
}

// Check checks a pageview token for sid and site at the visitor's
// difficulty bits: Valid if it verifies within the window, and a valid
// token seen before is Replayed. A valid, new token is remembered for its
// window and marks the session (site, sid) verified, proved by visitor if
// it had no owner yet (SessionProvedBy). If the replay cache is full its
// oldest token makes room (replayCache).
func (v *Verifier) Check(tok, sid, site, visitor string, bits int, now time.Time) Outcome {
	nowBucket := Bucket(now)
	out, t := v.verify(tok, sid, site, bits, nowBucket, v.window)
	if out != Valid {
		return out
	}
	switch v.replay.admit(t.bucket, nowBucket, t.hash) {
	case seenBefore:
		return Replayed
	case tooOld:
		return Expired
	}
	v.sessions.mark(site, sid, visitor, now, true)
	return Valid
}

// CheckEvent checks the token of an event batch. Events reuse the session's
// last pageview token, so there is no replay check, and a token past the
// window is still Valid while the session is verified (a valid token in
// the last SessionTTL, up to five minutes more), provided it verifies otherwise and is no older than the session lifetime.
// A valid token of a session not verified yet verifies it for visitor, as
// a pageview's would: the tracker's first events (an experiment's
// exposure) often arrive before the pageview. Once the session has an
// owner, the same token and session id from another visitor prove nothing.
func (v *Verifier) CheckEvent(tok, sid, site, visitor string, bits int, now time.Time) Outcome {
	nowBucket := Bucket(now)
	out, _ := v.verify(tok, sid, site, bits, nowBucket, v.window)
	if out != Valid && out != Expired {
		return out
	}
	if out == Valid {
		v.sessions.mark(site, sid, visitor, now, false)
		return Valid
	}
	if _, verified := v.sessions.owner(site, sid, now); !verified {
		return Expired
	}
	maxAge := v.window + int64((SessionTTL+tickSeconds*time.Second)/time.Minute)
	out, _ = v.verify(tok, sid, site, bits, nowBucket, maxAge)
	return out
}

// SessionProvedBy reports whether visitor proved (site, sid): it sent the
// first valid token of the session, which is still verified.
func (v *Verifier) SessionProvedBy(site, sid, visitor string, now time.Time) bool {
	owner, ok := v.sessions.owner(site, sid, now)
	return ok && owner == visitor
}

// Flag raises the difficulty for visitorHash by FlagStep bits for the next
// 30–35 minutes; flags add up to MaxDifficulty.
func (v *Verifier) Flag(visitorHash string, now time.Time) { v.flags.flag(visitorHash, now) }

// Difficulty is the number of leading zero bits to ask of visitorHash (""
// for "unknown visitor") and to require of its tokens.
func (v *Verifier) Difficulty(visitorHash string, now time.Time) int {
	return min(v.difficulty+FlagStep*v.flags.count(visitorHash, now), v.maxDiff)
}

// Mint solves the current puzzle natively and returns a token, for tests
// and load generators. It costs about 2^bits hashes.
func (v *Verifier) Mint(sid, site string, bits int, now time.Time) (string, error) {
	pz, err := v.Puzzle(now)
	if err != nil {
		return "", err
	}
	prefix := []byte(pz.Challenge + ":" + sid + ":" + site + ":")
	nonce, h, ok := Solve(&pz.Module.Params, prefix, max(bits, v.difficulty), 0)
	if !ok {
		return "", errors.New("pow: no nonce found")
	}
	return FormatToken(pz.Bucket, nonce, h), nil
}

// Stats are sizes, evictions and refusals of the bounded caches, for
// metrics.
type Stats struct {
	ReplayEntries, SessionEntries, FlagEntries int
	ReplayEvicted, SessionsRefused             int64
}

func (v *Verifier) Stats() Stats {
	var s Stats
	v.replay.mu.Lock()
	s.ReplayEntries, s.ReplayEvicted = v.replay.r.len(), v.replay.evicted
	v.replay.mu.Unlock()
	v.sessions.mu.Lock()
	s.SessionEntries, s.SessionsRefused = v.sessions.r.len(), v.sessions.refused
	v.sessions.mu.Unlock()
	v.flags.mu.Lock()
	s.FlagEntries = v.flags.r.len()
	v.flags.mu.Unlock()
	return s
}
