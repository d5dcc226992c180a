package govern

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/store"
)

// Writer is the usage log's asynchronous, batched writer. Add never blocks
// on the store: records are appended to a buffer that a background loop
// flushes every interval (or sooner when it fills); Close flushes what is
// left, so nothing is lost on a graceful shutdown.
type Writer struct {
	store      store.Store
	interval   time.Duration
	logger     *slog.Logger
	metrics    *metrics.Metrics // counts dropped records; nil: off
	maxPending int

	mu      sync.Mutex
	pending []store.Usage
	spare   []store.Usage // the last written batch's array, reused for the next
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

// flushAt is the buffer size that triggers an early flush.
const flushAt = 1000

// maxPending bounds the records kept for retry while the store fails
// (about 300 MB at worst): past it the oldest are dropped, and logged,
// rather than letting a long store outage exhaust memory.
const maxPending = 1 << 20

// NewWriter starts the background loop; Close stops it. m counts the
// records dropped while the store fails (nil: not counted).
func NewWriter(s store.Store, interval time.Duration, logger *slog.Logger, m *metrics.Metrics) *Writer {
	w := &Writer{store: s, interval: interval, logger: logger, metrics: m, maxPending: maxPending,
		kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// Add queues one record. Safe on a nil Writer (nothing is recorded).
func (w *Writer) Add(rec store.Usage) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.pending = append(w.pending, rec)
	n := len(w.pending)
	w.mu.Unlock()
	if n >= flushAt {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *Writer) loop() {
	defer close(w.stopped)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		case <-w.done:
			w.flush()
			return
		}
		w.flush()
	}
}

// flush writes the buffer; on failure the records go back to be retried.
func (w *Writer) flush() {
	w.mu.Lock()
	batch := w.pending
	w.pending, w.spare = w.spare, nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.store.InsertUsage(ctx, batch); err != nil {
		w.logger.Error("usage log write failed; will retry", "records", len(batch), "error", err)
		w.mu.Lock()
		w.pending = append(batch, w.pending...)
		if over := len(w.pending) - w.maxPending; over > 0 {
			w.pending = slices.Delete(w.pending, 0, over)
			w.metrics.UsageDropped(over)
			w.logger.Error("usage log: dropped the oldest records, the store has been failing too long", "dropped", over, "kept", len(w.pending))
		}
		w.mu.Unlock()
		return
	}
	clear(batch) // let the strings go
	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
}

// Close flushes the remaining records and stops the loop.
func (w *Writer) Close() {
	if w == nil {
		return
	}
	close(w.done)
	<-w.stopped
}
