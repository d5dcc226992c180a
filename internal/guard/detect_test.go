package guard

import (
	"strings"
	"testing"
)

// all returns a scanner with every built-in detector set to redact.
func all(t testing.TB) *Scanner {
	t.Helper()
	var dets []*Detector
	for _, name := range BuiltinNames() {
		d, _ := NewBuiltin(name, ActionRedact)
		dets = append(dets, d)
	}
	return NewScanner(dets)
}

// Golden cases: each text and the findings expected in it, as
// "detector:matched text"; none means no finding (false-positive guards).
var golden = []struct {
	text string
	want []string
}{
	// e-mail
	{"write to jane.doe+news@example.co.uk today", []string{"email:jane.doe+news@example.co.uk"}},
	{"<a.b@sub.example.org>", []string{"email:a.b@sub.example.org"}},
	{"twice: x@ex.com, y@ex.com.", []string{"email:x@ex.com", "email:y@ex.com"}},
	{"user@localhost", nil},
	{"@handle on social", nil},
	{"a@b.c", nil},
	{"version 1.2@3.4", nil},
	{"foo@bar..com", nil},
	{"name@domain.123", nil},
	// phone
	{"call +1 415 555 2671 now", []string{"phone:+1 415 555 2671"}},
	{"call (415) 555-2671.", []string{"phone:(415) 555-2671"}},
	{"+44 20 7946 0958", []string{"phone:+44 20 7946 0958"}},
	{"tel 415.555.2671", []string{"phone:415.555.2671"}},
	{"order 4155552671", nil},
	{"ts 1712345678901", nil},
	{"year 2024-2025", nil},
	// credit cards
	{"card 4111 1111 1111 1111 exp", []string{"credit_card:4111 1111 1111 1111"}},
	{"card 4111-1111-1111-1111", []string{"credit_card:4111-1111-1111-1111"}},
	{"amex 378282246310005", []string{"credit_card:378282246310005"}},
	{"mc 5555555555554444.", []string{"credit_card:5555555555554444"}},
	{"not luhn 4111 1111 1111 1112", nil},
	{"not luhn 4111111111111112", nil},
	{"mixed 4111 1111-1111 1111", nil},
	{"too long 41111111111111111111111", nil},
	{"id 1111111111111117", nil}, // valid Luhn, no card network starts with 1
	// SSN
	{"ssn 123-45-6789", []string{"ssn:123-45-6789"}},
	{"ssn 000-45-6789 or 666-12-3456 or 912-12-3456", nil},
	{"ssn 123-00-6789 or 123-45-0000", nil},
	{"part 123-45-6789-1", nil},
	{"date 2024-01-15", nil},
	// IBAN
	{"IBAN DE89 3704 0044 0532 0130 00 please", []string{"iban:DE89 3704 0044 0532 0130 00"}},
	{"GB82WEST12345698765432", []string{"iban:GB82WEST12345698765432"}},
	{"DE89370400440532013001", nil}, // bad checksum
	{"ISO8601 2024", nil},
	// IP
	{"host 192.168.1.20:8080", []string{"ip:192.168.1.20"}},
	{"v6 2001:db8::8a2e:370:7334 ok", []string{"ip:2001:db8::8a2e:370:7334"}},
	{"loop ::1 and fe80::1", []string{"ip:fe80::1"}},
	{"version 1.2.3.4.5", nil},
	{"256.1.1.1", nil},
	{"time 12:30:45", nil},
	{"010.1.1.1", nil},
	// secrets
	{"key AKIAIOSFODNN7EXAMPLE end", []string{"aws_key:AKIAIOSFODNN7EXAMPLE"}},
	{"AKIAIOSFODNN7EXAMPL", nil},
	{"XAKIAIOSFODNN7EXAMPLE", nil},
	{"gcp AIzaSyD-1234567890abcdefghijklmnopqrstu", []string{"gcp_key:AIzaSyD-1234567890abcdefghijklmnopqrstu"}},
	{"ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxx", []string{"gcp_key:ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxx"}},
	{"gh ghp_0123456789abcdefghijABCDEFGHIJ012345", []string{"github_token:ghp_0123456789abcdefghijABCDEFGHIJ012345"}},
	{"github_pat_11ABCDEFG0123456789_abcdefghijklmnop", []string{"github_token:github_pat_11ABCDEFG0123456789_abcdefghijklmnop"}},
	{"the highest ghost_town right", nil},
	{"slack xoxb-123456789012-abcdefghij", []string{"slack_token:xoxb-123456789012-abcdefghij"}},
	{"https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", []string{"slack_token:https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"}},
	{"oai sk-proj-abcdefghijklmnopqrstuvwxyz012345", []string{"openai_key:sk-proj-abcdefghijklmnopqrstuvwxyz012345"}},
	{"ant sk-ant-api03-abcdefghijklmnopqrstuvwxyz", []string{"anthropic_key:sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}},
	{"task-list and risk-free", nil},
	{"sk-short", nil},
	{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		[]string{"jwt:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}},
	{"eyJhbGciOiJIUzI1NiJ9 alone", nil},
	{"-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- after",
		[]string{"private_key:-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"}},
	{"-----BEGIN PRIVATE KEY-----\nMIIEabc", []string{"private_key:-----BEGIN PRIVATE KEY-----\nMIIEabc"}},
	{"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", nil},
	{"-----BEGIN CERTIFICATE-----", nil},
	// Unicode around matches and invalid UTF-8 do not confuse the scanners.
	{"é jane@example.com ü", []string{"email:jane@example.com"}},
	{"\xff\xfe 123-45-6789 \xff", []string{"ssn:123-45-6789"}},
}

func TestGolden(t *testing.T) {
	sc := all(t)
	for _, tc := range golden {
		var got []string
		for _, m := range sc.Find(tc.text, nil) {
			got = append(got, m.Det.Name+":"+tc.text[m.Start:m.End])
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q:\n got  %q\n want %q", tc.text, got, tc.want)
		}
	}
}

func TestCustomPattern(t *testing.T) {
	d, err := NewCustom("employee_id", `EMP-[0-9]{6}`, ActionRedact, 10)
	if err != nil {
		t.Fatal(err)
	}
	sess := NewScanner([]*Detector{d}).NewSession(false)
	out, changed, err := sess.Redact("ids EMP-123456 and EMP-123456, EMP-999999; EMP-12")
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if want := "ids [EMPLOYEE_ID_1] and [EMPLOYEE_ID_1], [EMPLOYEE_ID_2]; EMP-12"; out != want {
		t.Fatalf("got %q want %q", out, want)
	}
	if _, err := NewCustom("bad", `(`, ActionRedact, 0); err == nil {
		t.Fatal("invalid regex accepted")
	}
}

func TestRedactStableAndRestore(t *testing.T) {
	sess := all(t).NewSession(true)
	in := "Mail a@example.com and b@example.com, again a@example.com; call +1 415 555 2671"
	out, changed, err := sess.Redact(in)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	want := "Mail [EMAIL_1] and [EMAIL_2], again [EMAIL_1]; call [PHONE_1]"
	if out != want {
		t.Fatalf("got %q want %q", out, want)
	}
	// A second text of the same request reuses the placeholders.
	out2, _, _ := sess.Redact("from b@example.com")
	if out2 != "from [EMAIL_2]" {
		t.Fatalf("got %q", out2)
	}
	if got := sess.Restore("Reply to [EMAIL_2] and [EMAIL_1], not [EMAIL_9] or [x"); got != "Reply to b@example.com and a@example.com, not [EMAIL_9] or [x" {
		t.Fatalf("restore: %q", got)
	}
	noRestore := all(t).NewSession(false)
	_, _, _ = noRestore.Redact(in)
	if got := noRestore.Restore("[EMAIL_1]"); got != "[EMAIL_1]" {
		t.Fatalf("restored without restore: %q", got)
	}
}

func TestBlock(t *testing.T) {
	d, _ := NewBuiltin("aws_key", ActionBlock)
	e, _ := NewBuiltin("email", ActionRedact)
	sess := NewScanner([]*Detector{d, e}).NewSession(false)
	_, _, err := sess.Redact("a@example.com AKIAIOSFODNN7EXAMPLE")
	be, ok := err.(*BlockedError)
	if !ok || be.Detector != "aws_key" {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "AKIA") {
		t.Fatal("the error repeats the secret")
	}
}

func TestNoMatchNoAlloc(t *testing.T) {
	sc := all(t)
	sess := sc.NewSession(false)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog 42 times. ", 20)
	_, _, _ = sess.Redact(text)
	allocs := testing.AllocsPerRun(100, func() {
		if _, changed, _ := sess.Redact(text); changed {
			t.Fatal("changed")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations on a clean text", allocs)
	}
}
