// Package config is opcplc's configuration: OPC PLC-compatible flags with
// EDGEFRAME_OPCPLC_<FLAG> environment fallbacks, validated as a whole.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/server"
)

// AppID is the workload name (app id, env prefix EDGEFRAME_OPCPLC_).
const AppID = "opcplc"

// Config is the whole configuration of one opcplc process.
type Config struct {
	Sim      plc.Config
	Server   server.Config
	WebPort  int
	Group    string
	Seed     uint64
	LogLevel string
	LogFile  string // --lf: logs go to this file as well as to stdout
	Level    string // l2, l3 or l4: edge.layer of logs and telemetry
	// PNFile is where --sp/--sph write the publishednodes file (--spf); "" = not written.
	PNFile string
	// PNUseIP says the file addresses the server by IP address (--sp) rather than by
	// --ph host name (--sph).
	PNUseIP bool
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP port (--pprof).
	Pprof bool
	// Ignored are the OPC PLC flags that were given but have no effect here; Run warns
	// about each.
	Ignored []string
}

type loadFlags struct {
	count              int
	rateSec            int
	typ                string
	lower, upper, step float64
	randomize          bool
}

// Load reads args and the environment. Every bad flag or value is reported at once.
func Load(args []string, lookup func(string) (string, bool), stderr io.Writer) (Config, error) {
	o := Config{Sim: plc.DefaultConfig(), Server: server.DefaultConfig(), WebPort: 8080, LogLevel: "info"}
	if h, err := os.Hostname(); err == nil {
		o.Server.Host = h
	}
	fs := flag.NewFlagSet(AppID, flag.ContinueOnError)
	fs.SetOutput(stderr)
	alias := func(bind func(name string), names ...string) {
		for _, n := range names {
			bind(n)
		}
	}
	str := func(p *string, usage string, names ...string) {
		alias(func(n string) { fs.StringVar(p, n, *p, usage) }, names...)
	}
	num := func(p *int, usage string, names ...string) {
		alias(func(n string) { fs.IntVar(p, n, *p, usage) }, names...)
	}
	flt := func(p *float64, usage string, names ...string) {
		alias(func(n string) { fs.Float64Var(p, n, *p, usage) }, names...)
	}
	boo := func(p *bool, usage string, names ...string) {
		alias(func(n string) { fs.BoolVar(p, n, *p, usage) }, names...)
	}
	dur := func(p *time.Duration, usage string, names ...string) {
		alias(func(n string) { fs.DurationVar(p, n, *p, usage) }, names...)
	}

	sc := &o.Server
	num(&sc.Port, "OPC UA TCP port", "pn", "portnum")
	str(&sc.Host, "host name in the endpoint URL and the certificate", "ph", "plchostname")
	str(&sc.Listen, "address the OPC UA listener binds (empty = every interface)", "listen")
	str(&sc.Path, "path part of the endpoint URL, e.g. /UA/OpcPlc", "op", "path")
	msetMs := int(sc.MaxSessionTimeout / time.Millisecond)
	num(&msetMs, "longest session timeout granted, in ms", "mset", "maxsessiontimeout")
	boo(&sc.UnsecureTransport, "also offer SecurityPolicy None", "ut", "unsecuretransport")
	boo(&sc.AutoAccept, "accept every client certificate", "aa", "autoaccept")
	boo(&sc.DisableAnonymous, "refuse anonymous users", "daa", "disableanonymousauth")
	boo(&sc.DisableUserPass, "refuse user name/password users", "dua", "disableusernamepasswordauth")
	str(&sc.PKIDir, "PKI directory (own, trusted, rejected certificates)", "pki", "pkidir")
	admin, adminPass, user, userPass := "sysadmin", "demo", "user1", "password"
	str(&admin, "admin user name", "au", "adminuser")
	str(&adminPass, "admin password", "ac", "adminpassword")
	str(&user, "default user name", "du", "defaultuser")
	str(&userPass, "default user password (--dp is an alias)", "dc", "defaultpassword", "dp")
	boo(&sc.Chaos, "inject faults: drop sessions and delete subscriptions at random", "chaos")
	dur(&sc.ChaosMin, "shortest pause between chaos faults", "chaos-min")
	dur(&sc.ChaosMax, "longest pause between chaos faults", "chaos-max")
	num(&sc.MaxSessions, "maximum sessions", "msec", "maxsessioncount")
	num(&sc.MaxSubscriptions, "maximum subscriptions", "msuc", "maxsubscriptioncount")

	cycleMs := int(o.Sim.CycleTime / time.Millisecond)
	num(&cycleMs, "simulation cycle time in ms (Basic and Anomaly nodes)", "ct", "cycletime")
	num(&o.Sim.CycleCount, "cycles per anomaly phase", "sc", "simulationcyclecount")
	boo(&o.Sim.NoData, "no Basic nodes", "nv", "nodatavalues")
	boo(&o.Sim.NoSpikes, "no SpikeData", "ns", "nospikes")
	boo(&o.Sim.NoDips, "no DipData", "nd", "nodips")
	boo(&o.Sim.NoPosTrend, "no PositiveTrendData", "np", "nopostrend")
	boo(&o.Sim.NoNegTrend, "no NegativeTrendData", "nn", "nonegtrend")
	slow := loadFlags{count: 1, rateSec: 10, typ: "UInt"}
	fast := loadFlags{count: 1, rateSec: 1, typ: "UInt"}
	for _, l := range []struct {
		p    string
		long string
		f    *loadFlags
	}{{"s", "slow", &slow}, {"f", "fast", &fast}} {
		num(&l.f.count, "number of "+l.long+" nodes", l.p+"n", l.long+"nodes")
		num(&l.f.rateSec, "change rate of "+l.long+" nodes in seconds", l.p+"r", l.long+"rate")
		str(&l.f.typ, "type of "+l.long+" nodes: UInt, Double, Bool, UIntArray", l.p+"t", l.long+"type")
		flt(&l.f.lower, "lower bound of "+l.long+" node values", l.p+"tl", l.long+"typelowerbound")
		flt(&l.f.upper, "upper bound of "+l.long+" node values (0 = type maximum)", l.p+"tu", l.long+"typeupperbound")
		flt(&l.f.step, "step of "+l.long+" node values (0 = 1 for UInt, 0.1 for Double)", l.p+"ts", l.long+"typestepsize")
		boo(&l.f.randomize, "random "+l.long+" node values", l.p+"tr", l.long+"typerandomization")
	}
	vfr := 0
	num(&vfr, "change rate of fast nodes in ms; overrides --fr when > 0", "vfr", "veryfastrate")
	num(&o.WebPort, "HTTP port for /pn.json, /healthz, /readyz, /metrics (0 = off)", "wp", "webport")
	num(&o.Sim.GUIDNodes, "number of nodes with deterministic GUID ids", "gn", "guidnodes")
	boo(&o.Sim.LongID, "add Special/LongId3950, a node with a 3950-character id", "lid", "longid")
	boo(&o.Sim.Opaque, "add Special/Opaque_abc, a node with an opaque id", "on", "opaquenode")
	boo(&o.Sim.LongStrings, "add Special/LongString10kB, 50kB, 100kB and 200kB", "lsn", "longstringnodes")
	var showIP, showHost bool
	pnFile := "pn.json"
	boo(&showIP, "write the publishednodes file with the IP address in EndpointUrl", "sp", "showpnjson")
	boo(&showHost, "write the publishednodes file with the --ph host name in EndpointUrl", "sph", "showpnjsonph")
	str(&pnFile, "file --sp/--sph write", "spf", "showpnfname")
	str(&o.LogFile, "also write the logs to this file", "lf", "logfile")
	ignored := ignoredFlags(fs)
	str(&o.Group, "DataSetWriterGroup written into /pn.json", "writer-group")
	boo(&o.Pprof, "serve net/http/pprof under /debug/pprof/ on --wp", "pprof")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed of the simulation (0 = random)")
	str(&o.LogLevel, "log level: trace, debug, info, warn, error, critical (OPC PLC's verbose and fatal too)", "log-level", "ll", "loglevel")
	str(&o.Level, "ISA-95 level (l2, l3, l4): edge.layer of logs and telemetry (--layer is an alias)", "level", "layer")

	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	// Environment problems are reported together with the rest.
	errs = append(errs, flagenv.Apply(fs, AppID, lookup))
	o.Sim.CycleTime = time.Duration(cycleMs) * time.Millisecond
	sc.MaxSessionTimeout = time.Duration(msetMs) * time.Millisecond
	var err error
	if o.Sim.Slow, err = slow.config(time.Duration(slow.rateSec)*time.Second, "st"); err != nil {
		errs = append(errs, err)
	}
	fastRate := time.Duration(fast.rateSec) * time.Second
	if vfr < 0 {
		errs = append(errs, fmt.Errorf("--vfr: must be >= 0, got %d", vfr))
	} else if vfr > 0 {
		fastRate = time.Duration(vfr) * time.Millisecond
	}
	if o.Sim.Fast, err = fast.config(fastRate, "ft"); err != nil {
		errs = append(errs, err)
	}
	sc.Users = map[string]string{admin: adminPass, user: userPass}
	if o.WebPort < 0 || o.WebPort > 65535 {
		errs = append(errs, fmt.Errorf("--wp: %d is not a TCP port", o.WebPort))
	}
	o.LogLevel = opcPLCLevel(o.LogLevel)
	if _, err := observe.ParseLevel(o.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level (--ll): %w", err))
	}
	if showIP || showHost {
		if pnFile == "" {
			errs = append(errs, errors.New("--spf: must not be empty with --sp/--sph"))
		}
		o.PNFile, o.PNUseIP = pnFile, showIP && !showHost
	}
	o.Ignored = ignored()
	errs = append(errs, o.Sim.Validate(), sc.Validate())
	return o, errors.Join(errs...)
}

func (l loadFlags) config(rate time.Duration, typeFlag string) (plc.LoadNodes, error) {
	t, err := plc.ParseNodeType(l.typ)
	if err != nil {
		return plc.LoadNodes{}, fmt.Errorf("--%s: %w", typeFlag, err)
	}
	return plc.LoadNodes{Count: l.count, Rate: rate, Type: t, Min: l.lower, Max: l.upper, Step: l.step, Randomize: l.randomize}, nil
}
