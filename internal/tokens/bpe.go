package tokens

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/dlclark/regexp2/v2"
)

// The vocabulary is generated from github.com/tiktoken-go/tokenizer, whose
// codec links it as a 200k-entry map literal (about 6 MB of binary) and
// cannot be given another. The split pattern's matcher is compiled to Go
// code by regexp2cg, as in that library: it splits text 1.5 to 2 times as
// fast as regexp2's interpreter.
//
//go:generate go run ./gen -o o200k_base.gz
//go:generate go run github.com/dlclark/regexp2cg@v0.9.1 -o split.gen.go

// o200kBase is the o200k_base vocabulary: every token's bytes in rank
// order, each preceded by its length as a uvarint (0 for a rank without a
// token), gzip'd.
//
//go:embed o200k_base.gz
var o200kBase []byte

// o200kTokens is the number of tokens in o200kBase, checked on load.
const o200kTokens = 199_998

// bpe counts tokens the way OpenAI's tiktoken encodes: text is split by a
// pattern into pieces (words with their leading space, runs of up to three
// digits, punctuation, whitespace), and each piece is byte-pair encoded.
// Special tokens such as <|endoftext|> count as the text they are.
type bpe struct {
	ranks map[string]uint32
	split *regexp2.Regexp
}

func newBPE() (*bpe, error) {
	ranks, err := readRanks(o200kBase, o200kTokens)
	if err != nil {
		return nil, fmt.Errorf("o200k_base vocabulary: %w", err)
	}
	// o200k_base's pattern; regexp2 (unlike regexp) has the lookahead it
	// needs. regexp2cg finds this literal and generates its matcher.
	split := regexp2.MustCompile(`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`, regexp2.None)
	return &bpe{ranks: ranks, split: split}, nil
}

// readRanks decodes a vocabulary file holding want tokens. The map's keys
// share one string rather than being allocated one by one.
func readRanks(gz []byte, want int) (map[string]uint32, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	all := string(raw)
	ranks := make(map[string]uint32, want)
	for rank, i := uint32(0), 0; i < len(raw); rank++ {
		n, k := binary.Uvarint(raw[i:])
		if k <= 0 || n > uint64(len(raw)-i-k) {
			return nil, fmt.Errorf("corrupt at byte %d", i)
		}
		i += k
		if n > 0 {
			ranks[all[i:i+int(n)]] = rank
		}
		i += int(n)
	}
	if len(ranks) != want {
		return nil, fmt.Errorf("%d tokens, want %d", len(ranks), want)
	}
	return ranks, nil
}

// count returns the number of tokens of s.
func (b *bpe) count(s string) (int, error) {
	var m merger
	n := 0
	match, err := b.split.FindStringMatch(s)
	for ; match != nil && err == nil; match, err = b.split.FindNextMatch(match) {
		// regexp2 reads invalid UTF-8 as U+FFFD, and the reference
		// library encodes that: the piece is the runes matched, not the
		// bytes.
		piece := match.String()
		if _, ok := b.ranks[piece]; ok {
			n++
		} else {
			n += m.tokens(piece, b.ranks)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("split text: %w", err)
	}
	return n, nil
}

// noRank marks a part that merges with nothing (or was merged away).
const noRank = math.MaxUint32

// merger byte-pair encodes pieces, keeping its buffers for the next one.
type merger struct {
	next  []int32  // the part after each part; len(piece) at the end
	prev  []int32  // the part before; -1 at the start
	rank  []uint32 // the rank of a part merged with its next, or noRank
	queue mergeQueue
}

// tokens returns the number of tokens piece is encoded in. Starting from
// single bytes, the adjacent pair of parts whose concatenation has the
// lowest rank is merged, the leftmost first on a tie, until no pair is a
// token. A queue ordered by rank finds each merge in O(log n), so a long
// piece (a run of lowercase letters of any length is one) costs
// O(n log n), not the O(n²) of scanning for the lowest rank after every
// merge: 13 ms for 64 KB rather than seconds.
func (m *merger) tokens(piece string, ranks map[string]uint32) int {
	n := int32(len(piece))
	if n < 2 {
		return int(n)
	}
	m.next, m.prev, m.rank = resize(m.next, n), resize(m.prev, n), resize(m.rank, n)
	m.queue = resize(m.queue, n)[:0] // pairs merge away faster than they are added
	for i := range n {
		m.next[i], m.prev[i] = i+1, i-1
	}
	// pairRank is the rank of part i merged with the part after it.
	pairRank := func(i int32) uint32 {
		j := m.next[i]
		if j == n {
			return noRank
		}
		if r, ok := ranks[piece[i:m.next[j]]]; ok {
			return r
		}
		return noRank
	}
	for i := range n {
		m.rank[i] = pairRank(i)
		if m.rank[i] != noRank {
			m.queue = append(m.queue, merge(m.rank[i], i))
		}
	}
	m.queue.init()
	parts := n
	for len(m.queue) > 0 {
		rank, i := m.queue.pop()
		// A part's rank changes when it or its next part merges; a
		// queued merge that no longer matches is outdated. The pair at
		// i only grows, so a rank seen again is the same pair.
		if m.rank[i] != rank {
			continue
		}
		j := m.next[i] // merged into i
		m.rank[j] = noRank
		m.next[i] = m.next[j]
		if m.next[i] < n {
			m.prev[m.next[i]] = i
		}
		parts--
		for _, p := range [2]int32{i, m.prev[i]} {
			if p < 0 {
				continue
			}
			if m.rank[p] = pairRank(p); m.rank[p] != noRank {
				m.queue.push(merge(m.rank[p], p))
			}
		}
	}
	return int(parts)
}

func resize[T any](s []T, n int32) []T {
	if int32(cap(s)) < n {
		return make([]T, n)
	}
	return s[:n]
}

// merge is a queued merge: the rank above the part, so that ordering by
// merge orders by rank and then position (the leftmost of equal ranks
// first).
func merge(rank uint32, part int32) uint64 { return uint64(rank)<<32 | uint64(part) }

// mergeQueue is a binary min-heap of merges. It is typed rather than a
// container/heap so that pushing does not allocate.
type mergeQueue []uint64

func (q mergeQueue) init() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *mergeQueue) push(it uint64) {
	*q = append(*q, it)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if h[parent] <= h[i] {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// pop removes the least merge and returns its rank and part.
func (q *mergeQueue) pop() (uint32, int32) {
	h := *q
	top := h[0]
	h[0] = h[len(h)-1]
	*q = h[:len(h)-1]
	q.down(0)
	return uint32(top >> 32), int32(uint32(top))
}

func (q mergeQueue) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(q) {
			return
		}
		if c+1 < len(q) && q[c+1] < q[c] {
			c++
		}
		if q[i] <= q[c] {
			return
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
}
