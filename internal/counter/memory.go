package counter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"sync"
	"time"
)

// Memory is the single-process Counter: the same sliding logs and budget
// reservations as Redis, behind one mutex. Idle state is swept once a
// minute (of the clock's time).
type Memory struct {
	clock Clock

	mu       sync.Mutex
	requests map[string]*slidingLog
	tokens   map[string]*slidingLog
	budgets  map[string]*budgetState
	// ids are the reservation ID marks, pointer-free so that a busy
	// minute's marks cost the GC nothing to scan, and in shards swept one
	// at a time: at 10k requests a second a minute's 600k marks took 13 ms
	// to sweep in one go, with every caller waiting on the mutex.
	ids         [idShards]map[idKey]idMark
	nextSweep   int64
	nextIDSweep int64
	idSweep     int // the shard swept next
}

// idShards is how many parts the ID marks are swept in over a minute.
const idShards = 64

var _ Counter = (*Memory)(nil)

// NewMemory returns an empty in-process counter; a nil clock is time.Now.
func NewMemory(clock Clock) *Memory {
	if clock == nil {
		clock = time.Now
	}
	m := &Memory{
		clock:    clock,
		requests: map[string]*slidingLog{},
		tokens:   map[string]*slidingLog{},
		budgets:  map[string]*budgetState{},
	}
	for i := range m.ids {
		m.ids[i] = map[idKey]idMark{}
	}
	return m
}

// Close releases nothing; it exists for the Counter interface.
func (m *Memory) Close() error { return nil }

// idKey is a reservation ID as a map key without pointers: the ID itself
// when it fits (the gate's are 28 bytes), else its SHA-256.
type idKey [32]byte

// marks is the shard of the ID marks that holds k.
func (m *Memory) marks(k idKey) map[idKey]idMark {
	// The bytes of a random ID or of a SHA-256, folded: any byte could be
	// a fixed prefix's.
	var h uint64
	for i := 0; i < len(k); i += 8 {
		h ^= binary.LittleEndian.Uint64(k[i:])
	}
	return m.ids[(h*0x9E3779B97F4A7C15)>>58] // the top 6 bits: idShards = 64
}

func keyOf(id string) idKey {
	var k idKey
	if len(id) < len(k) {
		k[0] = byte(len(id)) // with the length, "a" and "a\x00" differ
		copy(k[1:], id)
		return k
	}
	return sha256.Sum256([]byte(id))
}

// idMark remembers a reservation ID until exp (µs): to refuse its reuse,
// and once settled, to make another Settle a no-op.
type idMark struct {
	exp     int64
	settled bool
}

// Reserve implements Counter.
func (m *Memory) Reserve(ctx context.Context, r *Reservation) (Decision, error) {
	if err := r.validate(); err != nil {
		return Decision{}, err
	}
	var d Decision
	err := withSeeds(ctx, r.Budgets, func(seeds []seed) ([]int, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		var missing []int
		var err error
		d, missing, err = m.reserve(r, seeds)
		return missing, err
	})
	return d, err
}

func (m *Memory) reserve(r *Reservation, seeds []seed) (Decision, []int, error) {
	now := micros(m.clock())
	m.sweep(now)
	id := keyOf(r.ID)
	marks := m.marks(id)
	if mk, ok := marks[id]; ok && mk.exp > now {
		return Decision{}, nil, ErrDuplicate
	}
	var missing []int
	for i := range r.Budgets {
		if !m.prepareBudget(&r.Budgets[i], now, seeds, i) {
			missing = append(missing, i)
		}
	}
	if missing != nil {
		return Decision{}, missing, nil
	}

	n := len(r.Requests) + len(r.Tokens)
	denied, wait := 0, int64(0)
	for i := range n {
		w, amount, tok := r.window(i)
		l := m.log(w, tok)
		wl := w.Window.Microseconds()
		l.evict(now - wl)
		if used := l.sum; used+amount > w.Limit {
			if denied == 0 {
				denied = i + 1
			}
			t := wl // the amount can never fit
			if at, ok := l.timeFreeing(used + amount - w.Limit); ok && amount <= w.Limit {
				t = at + wl - now
			}
			wait = max(wait, t)
		}
	}
	budgetDenied := 0
	for i := range r.Budgets {
		b := m.budgets[r.Budgets[i].Key]
		b.evict(now)
		if budgetDenied == 0 && b.spent+b.liveSum+r.Cost > r.Budgets[i].Limit {
			budgetDenied = n + i + 1
		}
	}

	d := Decision{Allowed: denied == 0 && budgetDenied == 0, States: make([]State, n)}
	switch {
	case budgetDenied > 0:
		d.Budget, d.Denied = true, r.deniedKey(budgetDenied)
	case denied > 0:
		d.Denied, d.RetryAfter = r.deniedKey(denied), fromMicros(wait)
	default:
		marks[id] = idMark{exp: now + r.markTTL()}
		ttl := r.ttl()
		for i := range r.Budgets {
			m.budgets[r.Budgets[i].Key].add(r.ID, r.Cost, now+ttl)
		}
	}
	for i := range n {
		w, amount, tok := r.window(i)
		l := m.log(w, tok)
		if d.Allowed {
			l.add(now, r.ID, amount)
		}
		d.States[i] = State{Key: w.Key, Limit: w.Limit, Remaining: max(0, w.Limit-l.sum)}
		if t, ok := l.oldest(); ok {
			d.States[i].Reset = fromMicros(t + w.Window.Microseconds() - now)
		}
	}
	return d, nil, nil
}

// prepareBudget ends a budget's stored period when it is over and installs
// its seed when its spend counter is missing; false means still missing.
func (m *Memory) prepareBudget(b *Budget, now int64, seeds []seed, i int) bool {
	s := m.budgets[b.Key]
	if s == nil {
		s = &budgetState{nextExp: math.MaxInt64}
		m.budgets[b.Key] = s
	}
	if s.seeded && s.expires > 0 && now >= s.expires {
		s.seeded = false
	}
	if !s.seeded && seeds != nil && seeds[i].ok {
		s.seeded, s.spent, s.expires = true, seeds[i].v, micros(b.Expires)
	}
	return s.seeded
}

// log returns the sliding log of w, creating it.
func (m *Memory) log(w *Window, tokens bool) *slidingLog {
	logs := m.requests
	if tokens {
		logs = m.tokens
	}
	l := logs[w.Key]
	if l == nil {
		l = &slidingLog{}
		if tokens {
			l.amounts = map[string]tokenEntry{}
		}
		logs[w.Key] = l
	}
	l.window = w.Window.Microseconds()
	return l
}

// Settle implements Counter.
func (m *Memory) Settle(ctx context.Context, r *Reservation, u Usage) error {
	if err := r.validate(); err != nil {
		return err
	}
	if len(r.Tokens) == 0 && len(r.Budgets) == 0 {
		return nil // request counts stay as they are
	}
	return withSeeds(ctx, r.Budgets, func(seeds []seed) ([]int, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.settle(r, u, seeds), nil
	})
}

func (m *Memory) settle(r *Reservation, u Usage, seeds []seed) []int {
	now := micros(m.clock())
	id := keyOf(r.ID)
	marks := m.marks(id)
	if mk, ok := marks[id]; ok && mk.settled && mk.exp > now {
		return nil
	}
	var missing []int
	for i := range r.Budgets {
		if !periodOver(&r.Budgets[i], now) && !m.prepareBudget(&r.Budgets[i], now, seeds, i) {
			missing = append(missing, i)
		}
	}
	if missing != nil {
		return missing
	}
	marks[id] = idMark{exp: now + r.markTTL(), settled: true}
	for i := range r.Tokens {
		w := &r.Tokens[i]
		if l := m.tokens[w.Key]; l != nil {
			l.settle(r.ID, u.Tokens, now-w.Window.Microseconds())
		}
	}
	for i := range r.Budgets {
		s := m.budgets[r.Budgets[i].Key]
		if s == nil {
			continue // period over and nothing live
		}
		s.remove(r.ID)
		if !periodOver(&r.Budgets[i], now) {
			s.spent += u.Cost
		}
	}
	return nil
}

// periodOver reports whether the reservation's budget period has ended: a
// late Settle then adds nothing (its spend is in the store's usage log).
func periodOver(b *Budget, now int64) bool {
	exp := micros(b.Expires)
	return exp > 0 && now >= exp
}

// sweep drops idle state once a minute: windows whose entries have all
// left, budgets whose period is over with nothing live, expired ID marks
// (one shard every 1/64 of a minute).
func (m *Memory) sweep(now int64) {
	if now >= m.nextIDSweep {
		m.nextIDSweep = now + time.Minute.Microseconds()/idShards
		marks := m.ids[m.idSweep]
		m.idSweep = (m.idSweep + 1) % idShards
		for id, mk := range marks {
			if mk.exp <= now {
				delete(marks, id)
			}
		}
	}
	if now < m.nextSweep {
		return
	}
	m.nextSweep = now + time.Minute.Microseconds()
	for _, logs := range []map[string]*slidingLog{m.requests, m.tokens} {
		for k, l := range logs {
			if l.evict(now - l.window); l.len() == 0 {
				delete(logs, k)
			}
		}
	}
	for k, b := range m.budgets {
		b.evict(now)
		if b.seeded && b.expires > 0 && now >= b.expires {
			b.seeded = false
		}
		if !b.seeded && len(b.live) == 0 {
			delete(m.budgets, k)
		}
	}
}

// slidingLog is one window's entries in time order (µs). A request log
// counts entries; a token log (amounts != nil) sums their amounts, which
// Settle may change.
type slidingLog struct {
	times   []int64 // times[head:] are in the window, ascending
	ids     []string
	head    int
	sum     int64
	window  int64
	amounts map[string]tokenEntry // token logs only
}

type tokenEntry struct{ t, n int64 }

func (l *slidingLog) len() int { return len(l.times) - l.head }

// evict drops the entries at or before cutoff.
func (l *slidingLog) evict(cutoff int64) {
	for l.head < len(l.times) && l.times[l.head] <= cutoff {
		if l.amounts == nil {
			l.sum--
		} else {
			id := l.ids[l.head]
			l.sum -= l.amounts[id].n
			delete(l.amounts, id)
			l.ids[l.head] = ""
		}
		l.head++
	}
	switch {
	case l.head == len(l.times):
		l.times, l.ids, l.head, l.sum = l.times[:0], l.ids[:0], 0, 0
	case l.head > 32 && 2*l.head > len(l.times):
		n := copy(l.times, l.times[l.head:])
		l.times = l.times[:n]
		if l.amounts != nil {
			copy(l.ids, l.ids[l.head:])
			clear(l.ids[n:])
			l.ids = l.ids[:n]
		}
		l.head = 0
	}
}

// add appends an entry, keeping time order if the clock stepped back.
func (l *slidingLog) add(t int64, id string, n int64) {
	i := len(l.times)
	if i > l.head && l.times[i-1] > t {
		i = l.head + sort.Search(len(l.times)-l.head, func(j int) bool { return l.times[l.head+j] > t })
	}
	l.times = insert(l.times, i, t)
	l.sum += n
	if l.amounts != nil {
		l.ids = insert(l.ids, i, id)
		l.amounts[id] = tokenEntry{t, n}
	}
}

func insert[T any](s []T, i int, v T) []T {
	if i == len(s) {
		return append(s, v)
	}
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// timeFreeing is the time of the entry whose leaving frees need units,
// counting from the oldest.
func (l *slidingLog) timeFreeing(need int64) (int64, bool) {
	if l.amounts == nil {
		if need < 1 || need > int64(l.len()) {
			return 0, false
		}
		return l.times[l.head+int(need)-1], true
	}
	var freed int64
	for i := l.head; i < len(l.times); i++ {
		if freed += l.amounts[l.ids[i]].n; freed >= need {
			return l.times[i], true
		}
	}
	return 0, false
}

func (l *slidingLog) oldest() (int64, bool) {
	if l.len() == 0 {
		return 0, false
	}
	return l.times[l.head], true
}

// settle replaces the amount of id's entry if it is still in the window.
func (l *slidingLog) settle(id string, n, cutoff int64) {
	e, ok := l.amounts[id]
	if !ok || e.t <= cutoff {
		return
	}
	l.sum += n - e.n
	l.amounts[id] = tokenEntry{e.t, n}
}

// budgetState is one budget: settled spend and live reservations.
type budgetState struct {
	spent   int64
	seeded  bool  // spent is known (Redis: the key exists)
	expires int64 // end of the period, µs; 0: never
	live    map[string]liveEntry
	liveSum int64
	nextExp int64 // earliest expiry in live
}

type liveEntry struct{ amount, exp int64 }

func (b *budgetState) add(id string, amount, exp int64) {
	if b.live == nil {
		b.live = map[string]liveEntry{}
	}
	b.live[id] = liveEntry{amount, exp}
	b.liveSum += amount
	b.nextExp = min(b.nextExp, exp)
}

func (b *budgetState) remove(id string) {
	if e, ok := b.live[id]; ok {
		delete(b.live, id)
		b.liveSum -= e.amount
	}
}

// evict drops reservations whose TTL is over.
func (b *budgetState) evict(now int64) {
	if now < b.nextExp {
		return
	}
	b.nextExp = math.MaxInt64
	for id, e := range b.live {
		if e.exp <= now {
			delete(b.live, id)
			b.liveSum -= e.amount
		} else {
			b.nextExp = min(b.nextExp, e.exp)
		}
	}
	if len(b.live) == 0 {
		b.liveSum = 0
	}
}
