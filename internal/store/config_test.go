package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConfigVersions(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		if _, err := s.LatestConfigVersion(ctx, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("latest of none: %v", err)
		}
		v1 := &ConfigVersion{Author: "file", Source: SourceFile, YAML: "listen: 127.0.0.1:1\n"}
		if err := s.AddConfigVersion(ctx, v1, AnyVersion); err != nil {
			t.Fatal(err)
		}
		v2 := &ConfigVersion{Author: "ops", Source: SourceAPI, YAML: "listen: 127.0.0.1:2\n# 'quotes' and \"more\"\n"}
		if err := s.AddConfigVersion(ctx, v2, AnyVersion); err != nil {
			t.Fatal(err)
		}
		if v1.Version <= 0 || v2.Version <= v1.Version || len(v2.Hash) != 64 || v2.CreatedAt.IsZero() {
			t.Fatalf("versions: %+v %+v", v1, v2)
		}
		got, err := s.ConfigVersion(ctx, v2.Version)
		if err != nil || *got != *v2 {
			t.Fatalf("get: %+v %v, want %+v", got, err, v2)
		}
		if l, err := s.LatestConfigVersion(ctx, ""); err != nil || l.Version != v2.Version {
			t.Fatalf("latest: %+v %v", l, err)
		}
		if l, err := s.LatestConfigVersion(ctx, SourceFile); err != nil || l.Version != v1.Version {
			t.Fatalf("latest file: %+v %v", l, err)
		}
		if _, err := s.ConfigVersion(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		list, err := s.ConfigVersions(ctx, 1, 0)
		if err != nil || len(list) != 1 || list[0].Version != v2.Version {
			t.Fatalf("page 1: %+v %v", list, err)
		}
		list, err = s.ConfigVersions(ctx, 10, list[0].Version)
		if err != nil || len(list) != 1 || list[0].Version != v1.Version || list[0].YAML != v1.YAML {
			t.Fatalf("page 2: %+v %v", list, err)
		}
	})
}

// A version made from version N is stored only while N is the newest,
// even when processes race: of many adds made from the same version
// through two Stores (two replicas), exactly one is stored.
func TestConfigVersionAfter(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		a, b := open(t, url), open(t, url)
		var conflict *VersionConflictError
		if err := a.AddConfigVersion(ctx, &ConfigVersion{Source: SourceAPI, YAML: "a: 1\n"}, 1); !errors.As(err, &conflict) || conflict.Newest != 0 || conflict.After != 1 {
			t.Fatalf("after 1 with none stored: %v", err)
		}
		first := &ConfigVersion{Source: SourceAPI, YAML: "a: 1\n"}
		if err := a.AddConfigVersion(ctx, first, 0); err != nil {
			t.Fatalf("after 0 with none stored: %v", err)
		}
		const racers = 16
		var stored atomic.Int64
		var wg sync.WaitGroup
		for i := range racers {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.AddConfigVersion(ctx, &ConfigVersion{Source: SourceAPI, YAML: fmt.Sprintf("a: %d\n", i+2)}, first.Version)
				var c *VersionConflictError
				switch {
				case err == nil:
					stored.Add(1)
				case errors.As(err, &c):
					if c.Newest != first.Version+1 || c.After != first.Version {
						t.Errorf("conflict: %+v", c)
					}
				default:
					t.Errorf("add: %v", err)
				}
			}()
		}
		wg.Wait()
		if stored.Load() != 1 {
			t.Fatalf("%d of %d adds from version %d were stored, want 1", stored.Load(), racers, first.Version)
		}
		list, err := b.ConfigVersions(ctx, 10, 0)
		if err != nil || len(list) != 2 {
			t.Fatalf("versions: %+v %v", list, err)
		}
		// Unconditional adds still go through.
		if err := b.AddConfigVersion(ctx, &ConfigVersion{Source: SourceFile, YAML: "a: 0\n"}, AnyVersion); err != nil {
			t.Fatal(err)
		}
	})
}

// A version added through one Store is announced to a watcher on another
// (another replica) within a second or so.
func TestWatchConfig(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a, b := open(t, url), open(t, url)
		ctx, cancel := context.WithCancel(context.Background())
		var calls atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := b.WatchConfig(ctx, func() { calls.Add(1) }); err != nil {
				t.Error(err)
			}
		}()
		defer func() { cancel(); <-done }()
		time.Sleep(1200 * time.Millisecond) // the watcher is listening (or has its baseline)
		start := time.Now()
		if err := a.AddConfigVersion(context.Background(), &ConfigVersion{Source: SourceAPI, YAML: "{}"}, AnyVersion); err != nil {
			t.Fatal(err)
		}
		for calls.Load() == 0 {
			if time.Since(start) > 3*time.Second {
				t.Fatal("no change reported within 3s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("reported after %v", time.Since(start))
	})
}
