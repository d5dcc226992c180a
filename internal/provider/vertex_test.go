package provider

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestVertexServiceAccount: with a service account file, Vertex mints an
// access token at Google's token endpoint (a fake that verifies the
// signed JWT assertion), sends it as the bearer, and reuses it.
func TestVertexServiceAccount(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var minted atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}))
		if err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
			claims["iss"] != "tidegate@proj.iam.gserviceaccount.com" || !strings.Contains(claims["scope"].(string), "cloud-platform") {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		minted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"ya29.minted-token","expires_in":3600,"token_type":"Bearer"}`))
	}))
	t.Cleanup(tokens.Close)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "proj", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "tidegate@proj.iam.gserviceaccount.com", "token_uri": tokens.URL,
	})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	up := testupstream.New("gemini")
	t.Cleanup(up.Close)
	p, err := NewVertex("vx", config.Provider{Type: config.TypeVertex, BaseURL: up.URL, CredentialsFile: file, Project: "proj", Region: "global"}, catalog.New())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		drain(t, mustChat(t, p, toolConversation("gemini-2.5-flash")))
		if got := up.Last().Header.Get("Authorization"); got != "Bearer ya29.minted-token" {
			t.Fatalf("Authorization %q", got)
		}
	}
	if minted.Load() != 1 {
		t.Errorf("%d tokens minted, want 1 (cached)", minted.Load())
	}

	// A bad file fails at start, naming the provider.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"type":"external_account"}`), 0o600)
	if _, err := NewVertex("vx", config.Provider{Type: config.TypeVertex, CredentialsFile: bad, Project: "p", Region: "r"}, catalog.New()); err == nil || !strings.Contains(err.Error(), "providers.vx: credentials_file") {
		t.Errorf("err = %v", err)
	}
}
