package secret

import "testing"

func TestNew(t *testing.T) {
	s1, d1, h1 := New()
	s2, _, h2 := New()
	if s1 == s2 || h1 == h2 {
		t.Fatal("secrets repeat")
	}
	if !Looks(s1) || d1 != s1[:10] || Hash(s1) != h1 || len(h1) != 64 {
		t.Fatalf("%q %q %q", s1, d1, h1)
	}
	if Looks("sk-tg-short") || Looks("sk-other") {
		t.Fatal("Looks accepts foreign keys")
	}
}
