package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/admin"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/store"
)

// Source is where the configuration came from, so that it can be read
// again: the file (watched, and re-read on Reload), how ${VAR} expands
// and the TIDEGATE_* overrides, which apply to every version (stored ones
// too) on every replica.
type Source struct {
	Path      string // config file; "": none (zero-config)
	Getenv    func(string) string
	Overrides config.Overrides
}

// WithSource enables live configuration from src.
func WithSource(src Source) Option { return func(o *options) { o.source = src } }

// ReloadEvent reports one attempt to apply a config version.
type ReloadEvent struct {
	// Origin is what triggered it: "file" (watch or SIGHUP), "api",
	// "rollback" or "store" (a version made by another replica).
	Origin  string
	Version int64 // the stored version, 0 without a store
	Err     error // nil: applied; else rejected and the old config serves on
}

// WithReloadHook calls f after every reload attempt (e.g. to count
// applied and rejected reloads in metrics).
func WithReloadHook(f func(ReloadEvent)) Option { return func(o *options) { o.onReload = f } }

// withFilePoll sets how often the config file is checked (tests).
func withFilePoll(d time.Duration) Option { return func(o *options) { o.poll = d } }

// withPurgeInterval sets how often stored responses are purged (tests).
func withPurgeInterval(d time.Duration) Option { return func(o *options) { o.purgeEvery = d } }

type reloadStats struct{ applied, rejected atomic.Uint64 }

// Reloads returns how many config reloads were applied and rejected since
// start.
func (a *App) Reloads() (applied, rejected uint64) {
	return a.stats.applied.Load(), a.stats.rejected.Load()
}

// ConfigVersion is the stored version the gateway serves (0: none).
func (a *App) ConfigVersion() int64 { return a.gen.Load().meta.Version }

// Config is the configuration the gateway serves now.
func (a *App) Config() *config.Config { return a.gen.Load().cfg }

func (a *App) report(origin string, version int64, err error) {
	result := "applied"
	if err != nil {
		result = "rejected"
	}
	a.base.metrics.ConfigReload(origin, result)
	if err != nil {
		a.stats.rejected.Add(1)
		a.logger.Error("config reload rejected; the previous config keeps serving", "origin", origin, "version", version, "error", err)
	} else {
		a.stats.applied.Add(1)
		a.logger.Info("config reloaded", "origin", origin, "version", version)
	}
	if a.o.onReload != nil {
		a.o.onReload(ReloadEvent{Origin: origin, Version: version, Err: err})
	}
}

func hashText(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// parse expands, overrides and validates a config text; an error is an
// *admin.InvalidConfigError.
func (a *App) parse(text string) (*config.Config, error) {
	dir := ""
	if a.o.source.Path != "" {
		dir = filepath.Dir(a.o.source.Path)
	}
	cfg, err := config.ParseWith([]byte(text), a.o.source.Getenv, a.o.source.Overrides, dir)
	if err != nil {
		return nil, &admin.InvalidConfigError{Err: err}
	}
	return cfg, nil
}

// initial builds the first generation. Without a store it is cfg. With
// one, the file (when there is one) is recorded as a new version if it
// changed since the last version recorded from it, and then the newest
// version wins: a file edit made while the gateway was down beats an older
// API change, and an API change beats a file that has not changed since.
func (a *App) initial(ctx context.Context, cfg *config.Config) (*generation, error) {
	st := a.base.store
	text := ""
	if a.o.source.Path != "" {
		data, err := os.ReadFile(a.o.source.Path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		text = string(data)
		a.fileHash = hashText(text)
	}
	if st == nil {
		g, err := a.build(ctx, cfg)
		if g != nil {
			g.text = text
		}
		return g, err
	}
	var fileVersion *store.ConfigVersion // the version that records the file as it is
	if text != "" {
		last, err := st.LatestConfigVersion(ctx, store.SourceFile)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("config versions: %w", err)
		}
		if last == nil || last.Hash != hashText(text) {
			last = &store.ConfigVersion{Author: store.SourceFile, Source: store.SourceFile, YAML: text}
			if err := st.AddConfigVersion(ctx, last, store.AnyVersion); err != nil {
				return nil, fmt.Errorf("config versions: %w", err)
			}
		}
		fileVersion = last
	}
	latest, err := st.LatestConfigVersion(ctx, "")
	if errors.Is(err, store.ErrNotFound) { // no file, no versions yet
		return a.build(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("config versions: %w", err)
	}
	use, usedText := cfg, text
	if latest.Hash != hashText(text) {
		stored, err := a.parse(latest.YAML)
		if err != nil {
			a.logger.Error("stored config version is invalid here; serving the file", "version", latest.Version, "error", err)
		} else {
			a.logger.Info("serving stored config version (newer than the file)", "version", latest.Version, "author", latest.Author)
			use, usedText = stored, latest.YAML
		}
	}
	g, err := a.build(ctx, use)
	if err != nil && use != cfg {
		a.logger.Error("stored config version cannot serve here; serving the file", "version", latest.Version, "error", err)
		usedText = text
		g, err = a.build(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	g.text = usedText
	switch {
	case usedText == latest.YAML:
		g.meta = *latest
	case fileVersion != nil && usedText == fileVersion.YAML:
		g.meta = *fileVersion
	}
	return g, nil
}

// restartOnly warns about changed settings that only a restart applies:
// they belong to the listener and the long-lived base.
func (a *App) restartOnly(cfg *config.Config) {
	old := a.base.cfg
	for _, f := range []struct {
		name     string
		was, now any
	}{
		{"listen", old.Listen, cfg.Listen}, {"store", old.Store, cfg.Store}, {"redis", old.Redis, cfg.Redis},
		{"counters", old.Counters, cfg.Counters},
		{"telemetry metrics and tracing", [2]any{old.Telemetry.Metrics, old.Telemetry.Tracing}, [2]any{cfg.Telemetry.Metrics, cfg.Telemetry.Tracing}},
		{"cache store", [3]any{old.Cache.Backend, old.Cache.MaxBytes, old.Cache.Prefix}, [3]any{cfg.Cache.Backend, cfg.Cache.MaxBytes, cfg.Cache.Prefix}},
		{"server timeouts", [4]config.Duration{old.Server.ReadHeaderTimeout, old.Server.ReadTimeout, old.Server.IdleTimeout, old.Server.ShutdownTimeout},
			[4]config.Duration{cfg.Server.ReadHeaderTimeout, cfg.Server.ReadTimeout, cfg.Server.IdleTimeout, cfg.Server.ShutdownTimeout}},
	} {
		if !reflect.DeepEqual(f.was, f.now) {
			a.logger.Warn("config: this setting changes only with a restart; the running value stays", "setting", f.name)
		}
	}
}

// swap makes g the current generation. Requests already running keep the
// one they started on.
func (a *App) swap(g *generation) {
	old := a.gen.Swap(g)
	select {
	case a.swapped <- struct{}{}:
	default:
	}
	if old != nil {
		old.release()
	}
}

// Reload re-reads the config file (SIGHUP). An invalid file is rejected
// and the running config keeps serving.
func (a *App) Reload(ctx context.Context) error {
	if a.o.source.Path == "" {
		return errors.New("reload: no config file (zero-config)")
	}
	data, err := os.ReadFile(a.o.source.Path)
	if err != nil {
		err = fmt.Errorf("read config: %w", err)
		a.report(store.SourceFile, 0, err)
		return err
	}
	_, err = a.commit(ctx, string(data), store.SourceFile, store.SourceFile, store.AnyVersion)
	return err
}

// watchFile reloads when the file's content changes. It polls (content
// hash, every second): that sees edits, renames and the symlink swaps of
// Kubernetes ConfigMap volumes alike.
func (a *App) watchFile(ctx context.Context) {
	last := a.fileHash // as read at start: a change made since is seen
	t := time.NewTicker(a.o.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(a.o.source.Path)
		if err != nil {
			continue // mid-replace, or gone: keep serving, look again
		}
		if h := hashText(string(data)); h != last {
			last = h
			_ = a.Reload(ctx) // reported
		}
	}
}

// commit validates text, builds its generation, records it as a new
// version (with a store) and serves it. Text equal to the running
// version's is a no-op. Unless after is store.AnyVersion, text was made
// from version after and is recorded only while that is the newest.
func (a *App) commit(ctx context.Context, text, source, author string, after int64) (*generation, error) {
	a.applying.Lock()
	defer a.applying.Unlock()
	cur := a.gen.Load()
	if cur.text == text && (a.base.store == nil || cur.meta.Version != 0) {
		if after == store.AnyVersion || a.base.store == nil {
			return cur, nil
		}
		// Made from the newest version and equal to the running one: a
		// no-op, if the running one is the newest (this replica may not
		// have applied another's change yet).
		newest, err := a.newestVersion(ctx)
		if err != nil {
			return nil, err
		}
		if newest != after {
			return nil, &store.VersionConflictError{After: after, Newest: newest}
		}
		if cur.meta.Version == newest {
			return cur, nil
		}
	}
	if st := a.base.store; st != nil && source == store.SourceFile {
		// Every replica sees the same file change: record it once.
		if latest, err := st.LatestConfigVersion(ctx, ""); err == nil && latest.Hash == hashText(text) {
			if latest.Version == cur.meta.Version {
				return cur, nil
			}
			return a.applyVersion(ctx, latest, source)
		}
	}
	cfg, err := a.parse(text)
	if err == nil {
		var g *generation
		if g, err = a.build(ctx, cfg); err == nil {
			g.text = text
			if st := a.base.store; st != nil {
				v := &store.ConfigVersion{Author: author, Source: source, YAML: text}
				if err := st.AddConfigVersion(ctx, v, after); err != nil {
					g.release()
					return nil, fmt.Errorf("config versions: %w", err)
				}
				g.meta = *v
			}
			a.swap(g)
			a.report(source, g.meta.Version, nil)
			return g, nil
		}
		err = &admin.InvalidConfigError{Err: err}
	}
	a.report(source, 0, err)
	return nil, err
}

// newestVersion is the newest stored version's number (0: none).
func (a *App) newestVersion(ctx context.Context) (int64, error) {
	latest, err := a.base.store.LatestConfigVersion(ctx, "")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("config versions: %w", err)
	}
	return latest.Version, nil
}

// applyLatest serves the newest stored version if it is newer than the
// running one (made by another replica, or by this one's admin API).
func (a *App) applyLatest(ctx context.Context) {
	a.applying.Lock()
	defer a.applying.Unlock()
	latest, err := a.base.store.LatestConfigVersion(ctx, "")
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			a.logger.Error("config: reading the newest version", "error", err)
		}
		return
	}
	if latest.Version <= a.gen.Load().meta.Version {
		return
	}
	_, _ = a.applyVersion(ctx, latest, "store") // reported
}

// applyVersion serves a stored version; the caller holds applying.
func (a *App) applyVersion(ctx context.Context, v *store.ConfigVersion, origin string) (*generation, error) {
	cfg, err := a.parse(v.YAML)
	var g *generation
	if err == nil {
		g, err = a.build(ctx, cfg)
	}
	if err != nil {
		a.report(origin, v.Version, err)
		return nil, err
	}
	g.text, g.meta = v.YAML, *v
	a.swap(g)
	a.report(origin, v.Version, nil)
	return g, nil
}

// configService is the admin API's view of the live configuration (only
// with a store: versions live there).
func (a *App) configService() admin.ConfigService {
	if a.base.store == nil {
		return nil
	}
	return (*configService)(a)
}

type configService App

func (s *configService) app() *App { return (*App)(s) }

func (s *configService) Current(context.Context) (*admin.ConfigView, error) {
	return s.view(s.app().gen.Load())
}

func (s *configService) view(g *generation) (*admin.ConfigView, error) {
	return viewOf(g.meta, g.text, g.cfg)
}

// viewOf shows a version: its meta, its text (cfg's own YAML when it has
// none: zero-config) and cfg, the effective config (nil: not shown), all
// with secrets masked.
func viewOf(meta store.ConfigVersion, text string, cfg *config.Config) (*admin.ConfigView, error) {
	v := &admin.ConfigView{Version: meta.Version, Author: meta.Author, Source: meta.Source}
	if !meta.CreatedAt.IsZero() {
		t := meta.CreatedAt
		v.CreatedAt = &t
	}
	var masked []byte
	if cfg != nil {
		masked = cfg.Masked().Marshal()
		var tree any
		if err := yaml.Unmarshal(masked, &tree); err != nil {
			return nil, fmt.Errorf("config view: %w", err)
		}
		v.Config = tree
	}
	if text == "" {
		v.YAML = string(masked)
		return v, nil
	}
	text, err := config.MaskYAML(text)
	if err != nil {
		return nil, err
	}
	v.YAML = text
	return v, nil
}

// Version shows a stored version; its effective config only when it is
// still valid here (the environment it expands from may have changed).
func (s *configService) Version(ctx context.Context, version int64) (*admin.ConfigView, error) {
	v, err := s.app().base.store.ConfigVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	cfg, err := s.app().parse(v.YAML)
	if err != nil {
		cfg = nil
	}
	return viewOf(*v, v.YAML, cfg)
}

func (s *configService) Put(ctx context.Context, text, author string, after int64) (*admin.ConfigView, error) {
	return s.put(ctx, text, store.SourceAPI, author, after)
}

// put commits text after restoring its masked secrets (unmask).
func (s *configService) put(ctx context.Context, text, source, author string, after int64) (*admin.ConfigView, error) {
	text, _, err := s.unmask(ctx, text, after)
	if err != nil {
		return nil, err
	}
	g, err := s.app().commit(ctx, text, source, author, after)
	if err != nil {
		return nil, err
	}
	return s.view(g)
}

// unmask restores text's masked secrets from the version it was made
// from: after when given (this replica may still run an older one), else
// the running version, whose text (and number) it also returns.
func (s *configService) unmask(ctx context.Context, text string, after int64) (string, *store.ConfigVersion, error) {
	cur := s.app().gen.Load()
	from := &store.ConfigVersion{Version: cur.meta.Version, YAML: cur.text}
	if after != store.AnyVersion && after != cur.meta.Version {
		switch v, err := s.app().base.store.ConfigVersion(ctx, after); {
		case err == nil:
			from = v
		case errors.Is(err, store.ErrNotFound):
			newest, err := s.app().newestVersion(ctx)
			if err != nil {
				return "", nil, err
			}
			return "", nil, &store.VersionConflictError{After: after, Newest: newest}
		default:
			return "", nil, fmt.Errorf("config versions: %w", err)
		}
	}
	prev := from.YAML
	if prev == "" {
		b, _ := yaml.Marshal(cur.cfg)
		prev = string(b)
	}
	text, err := config.Unmask(text, prev)
	if err != nil {
		return "", nil, &admin.InvalidConfigError{Err: err}
	}
	return text, from, nil
}

// Check is Put without storing or serving anything: what would be refused,
// the specs' warnings, and the diff from the version the change was made
// from (else the running one).
func (s *configService) Check(ctx context.Context, text string, after int64) (*admin.ConfigCheck, error) {
	text, from, err := s.unmask(ctx, text, after)
	if err != nil {
		return nil, err
	}
	if after != store.AnyVersion {
		newest, err := s.app().newestVersion(ctx)
		if err != nil {
			return nil, err
		}
		if newest != after {
			return nil, &store.VersionConflictError{After: after, Newest: newest}
		}
	}
	cfg, err := s.app().parse(text)
	if err != nil {
		return nil, err
	}
	warnings, err := Lint(cfg)
	if err == nil {
		_, err = s.app().base.responseCache(cfg)
	}
	if err != nil {
		return nil, &admin.InvalidConfigError{Err: err}
	}
	d, err := diff(from.YAML, text, fmt.Sprintf("v%d", from.Version), "proposed")
	if err != nil {
		return nil, err
	}
	return &admin.ConfigCheck{Valid: true, FromVersion: from.Version, Changed: text != from.YAML, Diff: d, Warnings: append([]string{}, warnings...)}, nil
}

func (s *configService) Rollback(ctx context.Context, version int64, author string, after int64) (*admin.ConfigView, error) {
	v, err := s.app().base.store.ConfigVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	return s.put(ctx, v.YAML, store.SourceRollback, author, after)
}

func (s *configService) History(ctx context.Context, limit int, before int64) ([]admin.ConfigChange, error) {
	list, err := s.app().base.store.ConfigVersions(ctx, limit+1, before)
	if err != nil {
		return nil, err
	}
	out := make([]admin.ConfigChange, 0, min(limit, len(list)))
	for i := 0; i < len(list) && i < limit; i++ {
		v := list[i]
		prevText, prevName := "", "/dev/null"
		if i+1 < len(list) {
			prevText, prevName = list[i+1].YAML, fmt.Sprintf("v%d", list[i+1].Version)
		}
		d, err := diff(prevText, v.YAML, prevName, fmt.Sprintf("v%d", v.Version))
		if err != nil {
			return nil, err
		}
		out = append(out, admin.ConfigChange{Version: v.Version, Author: v.Author, Source: v.Source, CreatedAt: v.CreatedAt, Hash: v.Hash, Diff: d})
	}
	return out, nil
}

// diff is a unified diff of two versions with their secrets masked.
func diff(from, to, fromName, toName string) (string, error) {
	var err error
	if from != "" {
		if from, err = config.MaskYAML(from); err != nil {
			from = "(unparsable)\n"
		}
	}
	if to, err = config.MaskYAML(to); err != nil {
		to = "(unparsable)\n"
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(from), B: difflib.SplitLines(to), FromFile: fromName, ToFile: toName, Context: 3,
	})
}
