package faults_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestCallerCredentialsNeverForwarded: whatever key the caller presents,
// in any header, the upstream sees only the gateway's own key.
func TestCallerCredentialsNeverForwarded(t *testing.T) {
	g := testgateway.Start(t, "")
	const secret = "caller-secret"
	header := map[string]string{
		"Authorization": "Bearer " + secret,
		"x-api-key":     secret,
		"api-key":       secret,
	}
	for _, rt := range routes {
		for _, stream := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream=%t", rt, stream), func(t *testing.T) {
				up := rt.up(g)
				up.Set(testupstream.Reply{Text: "one two three"})
				n := len(up.Requests())
				resp := openStream(t, client, g.URL+rt.d.path, rt.d.body(rt.model, stream), header)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, read error %v: %s", resp.StatusCode, err, truncate(body, 400))
				}
				reqs := up.Requests()
				if len(reqs) != n+1 {
					t.Fatalf("upstream received %d requests, want 1", len(reqs)-n)
				}
				got := reqs[n]
				for k, vs := range got.Header {
					for _, v := range vs {
						if strings.Contains(v, secret) {
							t.Errorf("upstream received the caller's key in header %s: %q", k, v)
						}
					}
				}
				if strings.Contains(string(got.Body), secret) {
					t.Errorf("upstream received the caller's key in the body: %s", got.Body)
				}
				// The gateway's own key is what authenticates upstream.
				if up == g.OpenAI {
					if v := got.Header.Get("Authorization"); v != "Bearer "+testgateway.OpenAIKey {
						t.Errorf("upstream Authorization %q, want the gateway's key", v)
					}
				} else if v := got.Header.Get("x-api-key"); v != testgateway.AnthropicKey {
					t.Errorf("upstream x-api-key %q, want the gateway's key", v)
				}
			})
		}
	}
}
