package stages_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestRedirectKeepsCredentialsAtHome: after a redirect to another origin
// (another host name, or only another port of the same host, where
// net/http used to send them on), a request's Authorization, Cookie,
// Proxy-Authorization and headers of its own such as X-Api-Key are not
// sent; harmless headers are, and so is everything on a redirect within
// the origin, or with WithTrustRedirects. A refusal where the credentials
// were left behind says so.
func TestRedirectKeepsCredentialsAtHome(t *testing.T) {
	// seen answers with the headers a request came with, or 401 for a
	// request without its token, as an API does.
	seen := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api") && r.Header.Get("Authorization") == "" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%q", strings.Join([]string{r.Header.Get("Authorization"), r.Header.Get("Cookie"),
			r.Header.Get("Proxy-Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("Accept")}, "|"))
	})
	otherPort := httptest.NewServer(seen)
	defer otherPort.Close()
	var otherHost string
	h := serveHosts(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-host":
			http.Redirect(w, r, otherHost+"/seen", http.StatusFound)
		case "/to-port":
			http.Redirect(w, r, otherPort.URL+"/seen", http.StatusFound)
		case "/to-port/api":
			http.Redirect(w, r, otherPort.URL+"/api", http.StatusFound)
		case "/home":
			http.Redirect(w, r, "/seen", http.StatusFound)
		default:
			seen(w, r)
		}
	})
	otherHost = h.urls[1]
	const all = `"Bearer t|session=s|Basic p|k3y|application/json"`
	const harmless = `"||||application/json"`
	tests := []struct {
		name string
		path string
		opts []stages.Option
		want string
	}{
		{"another host", "/to-host", nil, harmless},
		{"another port of the same host", "/to-port", nil, harmless},
		{"the same origin", "/home", nil, all},
		{"another host, trusted", "/to-host", []stages.Option{stages.WithTrustRedirects()}, all},
		{"another port, trusted", "/to-port", []stages.Option{stages.WithTrustRedirects()}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			opts := append([]stages.Option{
				stages.WithHeader("Authorization", "Bearer t"), stages.WithHeader("Cookie", "session=s"),
				stages.WithHeader("Proxy-Authorization", "Basic p"), stages.WithHeader("X-Api-Key", "k3y"),
				stages.WithHeader("Accept", "application/json"),
			}, tt.opts...)
			r := collect(t, stages.Fetch(stages.URLs(p, []string{h.urls[0] + tt.path}), opts...))[0]
			if got := string(r.Body); got != tt.want || !r.OK() {
				t.Errorf("the redirect's target saw %s (error %v), want %s", got, r.Err, tt.want)
			}
		})
	}
	t.Run("the URL's own user info, trusted", func(t *testing.T) {
		p := pipeline.New(t.Context())
		u := strings.Replace(h.urls[0], "http://", "http://user:pw@", 1) + "/to-host"
		r := collect(t, stages.Fetch(stages.URLs(p, []string{u}), stages.WithTrustRedirects()))[0]
		if want := `"Basic dXNlcjpwdw==||||"`; string(r.Body) != want {
			t.Errorf("the other host saw %s, want %s", r.Body, want)
		}
	})
	t.Run("a refusal says why", func(t *testing.T) {
		p := pipeline.New(t.Context())
		r := collect(t, stages.Fetch(stages.URLs(p, []string{h.urls[0] + "/to-port/api"}), stages.WithHeader("Authorization", "Bearer t")))[0]
		if r.Status != 401 || r.Err == nil || !strings.Contains(r.Err.Message, "request's Authorization were not sent") {
			t.Errorf("status %d, error %v; want a 401 that says the token stayed home", r.Status, r.Err)
		}
	})
}

// TestRedirectLimitsAndTargets: --max-redirects N follows N redirects and
// refuses the N+1st (checkRedirect once counted requests, so that 10
// refused a chain of 10), and a redirect to a URL that is not HTTP is a
// redirect record that says where it pointed.
func TestRedirectLimitsAndTargets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/chain/%d", &n); err == nil && n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
			return
		}
		if target := r.URL.Query().Get("to"); target != "" {
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusFound)
			return
		}
		fmt.Fprint(w, "{}")
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		path    string
		limit   int
		kind    stages.Kind
		message string
	}{
		{"10 redirects under the default", "/chain/10", stages.DefaultMaxRedirects, "", ""},
		{"11 redirects under the default", "/chain/11", stages.DefaultMaxRedirects, stages.KindRedirect, "stopped after 10 redirects"},
		{"1 redirect under a limit of 1", "/chain/1", 1, "", ""},
		{"2 redirects under a limit of 1", "/chain/2", 1, stages.KindRedirect, "stopped after 1 redirects"},
		{"to file:", "/x?to=file:///etc/passwd", 10, stages.KindRedirect, "redirect to file:///etc/passwd, which is not an http or https URL"},
		{"to ftp:", "/x?to=ftp://user:pw@h/f", 10, stages.KindRedirect, "redirect to ftp://user:xxxxx@h/f"},
		{"to javascript:", "/x?to=javascript:alert(1)", 10, stages.KindRedirect, "redirect to javascript:alert(1)"},
		{"to a port out of range", "/x?to=http://127.0.0.1:99999/", 10, stages.KindRedirect, "redirect refused: port 99999"},
		{"to no host", "/x?to=http://:8080/", 10, stages.KindRedirect, "has no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			r := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL + tt.path}), stages.WithMaxRedirects(tt.limit)))[0]
			var kind stages.Kind
			if r.Err != nil {
				kind = r.Err.Kind
			}
			if kind != tt.kind || (r.Err != nil && !strings.Contains(r.Err.Message, tt.message)) {
				t.Errorf("error %v, want kind %q saying %q", r.Err, tt.kind, tt.message)
			}
			if tt.kind == stages.KindRedirect && r.Attempts != 1 {
				t.Errorf("%d attempts: a redirect record is not worth a retry", r.Attempts)
			}
		})
	}
}

// TestRefererStaysHome: net/http sends the URL redirected from as the
// Referer, query and all, and a query may hold an api_key; to another
// origin it is not sent.
func TestRefererStaysHome(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%q", r.Header.Get("Referer"))
	}))
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/seen", http.StatusFound)
	}))
	defer front.Close()
	p := pipeline.New(t.Context())
	r := collect(t, stages.Fetch(stages.URLs(p, []string{front.URL + "/?api_key=secret"})))[0]
	if string(r.Body) != `""` {
		t.Errorf("the other origin saw Referer %s", r.Body)
	}
}
