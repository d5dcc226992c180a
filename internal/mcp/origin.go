package mcp

import (
	"net"
	"net/url"
	"strings"
)

// originAllowed is the DNS-rebinding check: a browser's Origin must be in
// the allow-list ("*" allows any), or, without a list, a localhost or
// loopback origin.
func originAllowed(origin string, allowed []string) bool {
	if len(allowed) == 0 {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return false
		}
		host := u.Hostname()
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	origin = strings.TrimSuffix(origin, "/")
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}
