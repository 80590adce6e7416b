package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestResolve(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"without trusted proxies the peer is the client", nil, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"an untrusted peer cannot claim another address", trusted, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"a trusted proxy's last hop is the client", trusted, "10.1.2.3:4000", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies is skipped", trusted, "10.1.2.3:4000", []string{"198.51.100.7, 192.0.2.1", "10.9.9.9"}, "198.51.100.7"},
		{"a spoofed leftmost entry is ignored", trusted, "10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk at the last good hop", trusted, "10.1.2.3:4000", []string{"198.51.100.7, nonsense"}, "10.1.2.3"},
		{"a trusted proxy without the header is the client", trusted, "10.1.2.3:4000", nil, "10.1.2.3"},
		{"IPv4-mapped IPv6 peers are unmapped", nil, "[::ffff:203.0.113.5]:4000", nil, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := New(tt.trusted).Resolve(r); got.String() != tt.want {
				t.Fatalf("Resolve = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestKeyGroupsIPv6ByNetwork(t *testing.T) {
	a := Key(netip.MustParseAddr("2001:db8:1:2:3:4:5:6"))
	b := Key(netip.MustParseAddr("2001:db8:1:2:ffff::1"))
	c := Key(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Fatalf("keys %q %q %q: want the same /64 to share a key and others not", a, b, c)
	}
	if got := Key(netip.MustParseAddr("198.51.100.7")); got != "198.51.100.7" {
		t.Fatalf("IPv4 key = %q", got)
	}
}

func TestParsePrefixesRejectsGarbage(t *testing.T) {
	if _, err := ParsePrefixes([]string{"not-an-ip"}); err == nil {
		t.Fatal("want an error")
	}
}
