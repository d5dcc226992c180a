package govern

import (
	"sync"
	"sync/atomic"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/llm"
)

// maxModelInfos bounds the memo: wildcard routes make upstream model
// names the caller's choice, so past this many names lookups are not kept.
const maxModelInfos = 4096

// modelInfos memoises catalogue lookups by upstream model name. Every
// request prices its usage (and budgets price their reservations), and
// Catalog.Lookup scans the whole table; a gate's catalogue never changes
// (a reload builds a new gate).
type modelInfos struct {
	catalog *catalog.Catalog
	byName  sync.Map // string → llm.ModelInfo
	n       atomic.Int32
}

func (m *modelInfos) lookup(model string) llm.ModelInfo {
	if v, ok := m.byName.Load(model); ok {
		return v.(llm.ModelInfo)
	}
	info := m.catalog.Lookup(model)
	if m.n.Add(1) <= maxModelInfos {
		m.byName.Store(model, info)
	}
	return info
}
