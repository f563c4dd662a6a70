// Package server serves the plc simulation over OPC UA. It is built on gopcua v0.8.0's
// protocol packages (ua encoding, uacp transport, uasc secure channels and crypto) and
// its copy of the standard NodeSet2 (schema), not on gopcua's server package, which
// cannot open Sign/SignAndEncrypt channels, duplicates references and lacks or stubs most
// services. Ours: the channel broker (transport.go), discovery, sessions with user
// authentication and a certificate trust store, namespace 0 from the NodeSet2 with the
// Server object's values (ns0.go, serverobject.go), session-checked Read/Browse/
// TranslateBrowsePaths, Write and Call for OPC PLC's writable variables and methods,
// subscriptions with keep-alive, lifetime, acknowledgements, republish and transfer,
// monitored items with sampling interval, queue size, monitoring mode and data change
// filters, fault injection (--chaos) and Prometheus metrics.
package server

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the OPC UA side of opcplc.
type Config struct {
	Host              string            // --ph: host name in the endpoint URL and the certificate
	Listen            string            // --listen: address to bind ("" = every interface)
	Port              int               // --pn
	Path              string            // --op: path part of the endpoint URL ("" or starting with /)
	MaxSessionTimeout time.Duration     // --mset: longest session timeout granted
	UnsecureTransport bool              // --ut: also offer SecurityPolicy None
	AutoAccept        bool              // --aa: trust every client certificate
	DisableAnonymous  bool              // --daa
	DisableUserPass   bool              // --dua
	PKIDir            string            // --pki
	Users             map[string]string // user name -> password (--au/--ac admin, --du/--dp default user)
	Chaos             bool              // --chaos
	ChaosMin          time.Duration     // --chaos-min: shortest pause between faults
	ChaosMax          time.Duration     // --chaos-max: longest pause between faults
	MaxSessions       int               // --msec
	MaxSubscriptions  int               // --msuc
	MinPublishing     time.Duration     // shortest publishing interval granted
	MinSampling       time.Duration     // shortest sampling interval granted (0 = every change)
}

// DefaultConfig is OPC PLC's default.
func DefaultConfig() Config {
	return Config{
		Host:              "localhost",
		Port:              50000,
		PKIDir:            "pki",
		Users:             map[string]string{"sysadmin": "demo", "user1": "password"},
		ChaosMin:          10 * time.Second,
		ChaosMax:          30 * time.Second,
		MaxSessions:       100,
		MaxSubscriptions:  100,
		MaxSessionTimeout: time.Hour,
		MinPublishing:     50 * time.Millisecond,
		MinSampling:       0,
	}
}

// Validate reports every problem at once, each naming its field and flag.
func (c Config) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, fmt.Errorf("%s: must not be empty", "Host (--ph)"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("%s: %d is not a TCP port", "Port (--pn)", c.Port))
	}
	if c.Path != "" && (!strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " ?#")) {
		errs = append(errs, fmt.Errorf("%s: %q must start with / and hold no spaces, ? or #", "Path (--op)", c.Path))
	}
	if c.MaxSessionTimeout < minSessionTimeout {
		errs = append(errs, fmt.Errorf("MaxSessionTimeout (--mset): must be >= %s, got %s", minSessionTimeout, c.MaxSessionTimeout))
	}
	if c.PKIDir == "" {
		errs = append(errs, fmt.Errorf("%s: must not be empty", "PKIDir (--pki)"))
	}
	if c.DisableAnonymous && (c.DisableUserPass || len(c.Users) == 0) {
		errs = append(errs, fmt.Errorf("%s: with user/password disabled too no client could log in", "DisableAnonymous (--daa)"))
	}
	for u, p := range c.Users {
		if u == "" || p == "" {
			errs = append(errs, fmt.Errorf("%s: user %q has an empty name or password", "Users", u))
		}
	}
	if c.Chaos && (c.ChaosMin <= 0 || c.ChaosMax < c.ChaosMin) {
		errs = append(errs, fmt.Errorf("ChaosMin/ChaosMax (--chaos-min/--chaos-max): need 0 < min <= max, got %s..%s", c.ChaosMin, c.ChaosMax))
	}
	if c.MaxSessions <= 0 {
		errs = append(errs, fmt.Errorf("MaxSessions (--msec): must be > 0, got %d", c.MaxSessions))
	}
	if c.MaxSubscriptions <= 0 {
		errs = append(errs, fmt.Errorf("MaxSubscriptions (--msuc): must be > 0, got %d", c.MaxSubscriptions))
	}
	if c.MinPublishing <= 0 {
		errs = append(errs, fmt.Errorf("MinPublishing: must be > 0, got %s", c.MinPublishing))
	}
	return errors.Join(errs...)
}
