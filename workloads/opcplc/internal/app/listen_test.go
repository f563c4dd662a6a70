package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
)

// --listen binds the HTTP listener (/pn.json, /metrics, /healthz, /readyz) as well as
// the OPC UA one (issue 13: the HTTP listener bound every interface). 127.0.0.2 is
// another local address: reachable when a listener binds every interface, refused when
// it binds 127.0.0.1 only.
func TestListenBindsHTTPAndOPCUA(t *testing.T) {
	for _, tc := range []struct {
		listen string
		other  bool // reachable on 127.0.0.2
	}{{"127.0.0.1", false}, {"", true}} {
		t.Run(fmt.Sprintf("listen=%q", tc.listen), func(t *testing.T) {
			web, opc := testenv.FreePort(t), testenv.FreePort(t)
			o, err := config.Load([]string{"--ph=127.0.0.1", "--listen=" + tc.listen, fmt.Sprintf("--pn=%d", opc), fmt.Sprintf("--wp=%d", web),
				"--pki=" + filepath.Join(t.TempDir(), "pki")}, testkit.Env(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer runApp(t, o)()
			healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", web)
			testkit.EventuallyNoError(t, 30*time.Second, "GET "+healthz, func() error {
				resp, err := http.Get(healthz)
				if err == nil {
					resp.Body.Close()
				}
				return err
			})
			for name, port := range map[string]int{"http": web, "opc ua": opc} {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.2:%d", port), 2*time.Second)
				if c != nil {
					c.Close()
				}
				if reachable := err == nil; reachable != tc.other {
					t.Errorf("%s listener on 127.0.0.2:%d reachable %v, want %v (%v)", name, port, reachable, tc.other, err)
				}
			}
		})
	}
}

// runApp runs opcplc with o until the returned stop is called (which reports Run's error).
func runApp(t *testing.T, o config.Config) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, o, io.Discard) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
