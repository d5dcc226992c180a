package cache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Memory is an LRU of entries bounded by their total size in bytes.
type Memory struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
	now   func() time.Time
}

type item struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns an LRU that holds at most max bytes of keys and values.
func NewMemory(max int64, now func() time.Time) *Memory {
	return &Memory{max: max, order: list.New(), items: map[string]*list.Element{}, now: now}
}

func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, false, nil
	}
	it := el.Value.(*item)
	if !m.now().Before(it.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.order.MoveToFront(el)
	return it.value, true, nil
}

func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	n := int64(len(key) + len(value))
	if n > m.max {
		return nil // larger than the whole cache: not cached
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	for m.size+n > m.max {
		m.remove(m.order.Back())
	}
	m.items[key] = m.order.PushFront(&item{key: key, value: value, expires: m.now().Add(ttl)})
	m.size += n
	return nil
}

func (m *Memory) remove(el *list.Element) {
	it := el.Value.(*item)
	m.order.Remove(el)
	delete(m.items, it.key)
	m.size -= int64(len(it.key) + len(it.value))
}

// Size is the bytes held (keys and values).
func (m *Memory) Size() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size
}

func (m *Memory) Close() error { return nil }

// Redis keeps entries as plain keys with a TTL under a prefix, shared by
// every replica.
type Redis struct {
	client redis.UniversalClient
	prefix string
	owned  bool
}

// NewRedis stores under prefix; with owned, Close closes the client.
func NewRedis(client redis.UniversalClient, prefix string, owned bool) *Redis {
	return &Redis{client: client, prefix: prefix, owned: owned}
}

func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return r.client.Set(ctx, r.prefix+key, value, ttl).Err()
}

func (r *Redis) Close() error {
	if r.owned {
		return r.client.Close()
	}
	return nil
}
