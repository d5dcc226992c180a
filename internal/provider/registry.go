package provider

import (
	"fmt"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// Build creates one provider per configured entry.
func Build(cfgs map[string]config.Provider, cat *catalog.Catalog) (map[string]llm.Provider, error) {
	out := make(map[string]llm.Provider, len(cfgs))
	for name, c := range cfgs {
		switch {
		case config.OpenAICompatible(c.Type):
			out[name] = NewOpenAI(name, c, cat)
		case c.Type == config.TypeAnthropic:
			out[name] = NewAnthropic(name, c, cat)
		case c.Type == config.TypeOllama:
			out[name] = NewOllama(name, c, cat)
		case c.Type == config.TypeGemini:
			out[name] = NewGemini(name, c, cat)
		case c.Type == config.TypeCohere:
			out[name] = NewCohere(name, c, cat)
		case c.Type == config.TypeBedrock:
			out[name] = NewBedrock(name, c, cat)
		case c.Type == config.TypeVertex:
			v, err := NewVertex(name, c, cat)
			if err != nil {
				return nil, err
			}
			out[name] = v
		case c.Type == config.TypeEcho:
			out[name] = NewEcho(name)
		default:
			return nil, fmt.Errorf("providers.%s.type: unknown provider type %q", name, c.Type)
		}
	}
	return out, nil
}
