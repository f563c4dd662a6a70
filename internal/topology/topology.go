package topology

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/internal/supervise"
)

// Broker is one level's mosquitto.
type Broker struct {
	Level      string
	Port       int    // client listener (password auth)
	Addr       string // 127.0.0.1:Port
	URL        string // tcp://127.0.0.1:Port
	BridgePort int    // TLS bridge listener (client certificates), 0 at L2
	Files      selfhosted.BrokerFiles
	Name       string // process name
}

// Sidecar is one workload's daprd.
type Sidecar struct {
	AppID, Level                                  string
	HTTPPort, GRPCPort, InternalPort, MetricsPort int
	ProfilePort                                   int // 0 unless Config.Profiling
	GRPCAddr                                      string
	Files                                         selfhosted.DaprFiles
	Cmd                                           selfhosted.Sidecar // daprd's flags and environment
	Name                                          string             // process name
}

// App is one workload process.
type App struct {
	Name, Level string
	HTTPPort    int // /healthz /readyz /metrics
	AppPort     int // the Dapr app channel (gRPC), 0 when the app only publishes
	OPCPort     int // opcplc's OPC UA endpoint
}

// Topology is a planned (and, after Start, running) local L2 → L3 → L4 deployment.
type Topology struct {
	Cfg      Config
	Ports    *Ports
	Sup      *supervise.Supervisor
	CA       *selfhosted.CA
	Brokers  map[string]*Broker  // by level
	Links    map[string]*Link    // by child level: "l2" is the L2 → L3 link
	Sidecars map[string]*Sidecar // by app id
	Apps     map[string]*App     // by name
	// Creds holds each level's broker users and their passwords (generated per run).
	Creds map[string]map[string]string
	// SinkDir is where the datagateway's file sink writes JSON lines.
	SinkDir string
	// AzuritePort is the local Blob emulator's port (0 without Azurite).
	AzuritePort int
	// TracePort is where the sidecars export their traces (the profile's OTLP endpoint,
	// on loopback); no collector runs locally, so nothing listens there.
	TracePort int
	// GatewayDir holds the datagateway's durable buffer and configuration.
	GatewayDir string

	linkTargets map[string]string
	linkPorts   map[string]int
	closeOnce   sync.Once
}

// parent is the level a level bridges to ("" at the top).
func parent(level string) string {
	for i, l := range Levels {
		if l == level && i+1 < len(Levels) {
			return Levels[i+1]
		}
	}
	return ""
}

// appLevel is the level each workload runs at.
var appLevel = map[string]string{OPCPLC: "l2", OPCPublisher: "l2", TempSensor: "l2", DataGateway: "l4"}

// Plan allocates ports, generates the demo PKI and per-level passwords, and renders
// every broker configuration and Dapr resource under cfg.RunDir. Nothing runs yet.
func Plan(ctx context.Context, cfg Config) (*Topology, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	run, err := filepath.Abs(cfg.RunDir)
	if err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	cfg.RunDir = run
	t := &Topology{
		Cfg:         cfg,
		Ports:       NewPorts(cfg.BasePort),
		Sup:         supervise.NewSupervisor(filepath.Join(run, "logs")),
		Brokers:     map[string]*Broker{},
		Links:       map[string]*Link{},
		Sidecars:    map[string]*Sidecar{},
		Apps:        map[string]*App{},
		Creds:       map[string]map[string]string{},
		SinkDir:     filepath.Join(run, "sink"),
		GatewayDir:  filepath.Join(run, "gateway"),
		linkTargets: map[string]string{},
		linkPorts:   map[string]int{},
	}
	if err := t.allocate(); err != nil {
		return nil, err
	}
	if t.CA, err = selfhosted.NewCA("edgeframe demo CA", 7*24*time.Hour); err != nil {
		return nil, err
	}
	if err := t.renderBrokers(ctx); err != nil {
		return nil, err
	}
	if err := t.renderSidecars(ctx); err != nil {
		return nil, err
	}
	for _, d := range []string{t.SinkDir, t.GatewayDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Topology) allocate() error {
	var errs []error
	alloc := func(purpose string) int {
		p, err := t.Ports.Alloc(purpose)
		if err != nil {
			errs = append(errs, err)
		}
		return p
	}
	for _, l := range Levels {
		b := &Broker{Level: l, Name: "mosquitto-" + l}
		b.Port = alloc(strings.ToUpper(l) + " broker client listener")
		b.Addr = fmt.Sprintf("127.0.0.1:%d", b.Port)
		b.URL = "tcp://" + b.Addr
		t.Brokers[l] = b
	}
	for _, l := range Levels {
		if l == "l2" {
			continue
		}
		t.Brokers[l].BridgePort = alloc(strings.ToUpper(l) + " broker TLS bridge listener")
	}
	for _, l := range Levels {
		if p := parent(l); p != "" && !t.Cfg.DirectBridges {
			t.linkPorts[l] = alloc(fmt.Sprintf("%s → %s link", strings.ToUpper(l), strings.ToUpper(p)))
			t.linkTargets[l] = fmt.Sprintf("127.0.0.1:%d", t.Brokers[p].BridgePort)
		}
	}
	if t.Cfg.Azurite != "" {
		t.AzuritePort = alloc("Azurite blob endpoint")
	}
	t.TracePort = alloc("sidecars' OTLP trace endpoint (no collector)")
	for _, w := range t.Cfg.Workloads() {
		a := &App{Name: w, Level: appLevel[w]}
		a.HTTPPort = alloc(w + " http (health, metrics)")
		switch w {
		case OPCPLC:
			a.OPCPort = alloc("opcplc OPC UA endpoint")
		case TempSensor, DataGateway:
			a.AppPort = alloc(w + " Dapr app channel (gRPC)")
		}
		t.Apps[w] = a
		if w == OPCPLC {
			continue
		}
		s := &Sidecar{AppID: w, Level: a.Level, Name: "daprd-" + w}
		s.HTTPPort = alloc("daprd " + w + " HTTP API")
		s.GRPCPort = alloc("daprd " + w + " gRPC API")
		s.InternalPort = alloc("daprd " + w + " internal gRPC")
		s.MetricsPort = alloc("daprd " + w + " metrics")
		s.GRPCAddr = fmt.Sprintf("127.0.0.1:%d", s.GRPCPort)
		if t.Cfg.Profiling {
			s.ProfilePort = alloc("daprd " + w + " profiler")
		}
		t.Sidecars[w] = s
	}
	return errors.Join(errs...)
}

// renderBrokers renders every level's broker from its profile (charts/profiles/<level>),
// with only the listeners, paths, parent address and passwords local.
func (t *Topology) renderBrokers(ctx context.Context) error {
	for _, l := range Levels {
		b := t.Brokers[l]
		dir := filepath.Join(t.Cfg.RunDir, "brokers", l)
		s := selfhosted.BrokerSpec{Level: l, Dir: dir, ClientPort: b.Port, BridgePort: b.BridgePort, CA: t.CA}
		if p := parent(l); p != "" {
			s.ParentAddr = fmt.Sprintf("127.0.0.1:%d", t.Brokers[p].BridgePort)
			if port, ok := t.linkPorts[l]; ok {
				s.ParentAddr = fmt.Sprintf("127.0.0.1:%d", port)
			}
		}
		var err error
		if b.Files, err = selfhosted.RenderBroker(ctx, t.Cfg.ChartsDir, s); err != nil {
			return err
		}
		t.Creds[l] = b.Files.Passwords
	}
	return os.WriteFile(filepath.Join(t.Cfg.RunDir, "brokers", "ca.crt"), t.CA.CertPEM, 0o644)
}

// renderSidecars renders every sidecar's resources from its level's profile, with only the
// secret store, broker address, credentials and trace endpoint local.
func (t *Topology) renderSidecars(ctx context.Context) error {
	for id, s := range t.Sidecars {
		pw, ok := t.Creds[s.Level][PubSubUser]
		if !ok {
			return fmt.Errorf("sidecar %s: the %s broker's ACL has no user %s, the sidecars' user", id, s.Level, PubSubUser)
		}
		var err error
		s.Files, err = selfhosted.RenderDapr(ctx, t.Cfg.ChartsDir, selfhosted.DaprSpec{
			Level: s.Level, AppID: id, Broker: t.Brokers[s.Level].Addr,
			User: PubSubUser, Password: pw,
			Dir:          filepath.Join(t.Cfg.RunDir, "dapr", id),
			OTLPEndpoint: fmt.Sprintf("127.0.0.1:%d", t.TracePort),
		})
		if err != nil {
			return err
		}
		// the daprd command line the cluster's sidecar injector builds from the profile's pod
		// annotations, with local ports and paths
		if s.Cmd, err = selfhosted.RenderSidecar(ctx, t.Cfg.ChartsDir, selfhosted.SidecarSpec{
			Level: s.Level, AppID: id, HTTPPort: s.HTTPPort, GRPCPort: s.GRPCPort,
			InternalPort: s.InternalPort, MetricsPort: s.MetricsPort,
			AppPort: t.Apps[id].AppPort, Files: s.Files,
		}); err != nil {
			return err
		}
		if s.ProfilePort != 0 {
			s.Cmd.Args = append(s.Cmd.Args, "--enable-profiling", "--profile-port", strconv.Itoa(s.ProfilePort))
		}
	}
	return nil
}

// Start checks every port, then starts the brokers (top level first), the links, and
// the workloads with their sidecars (consumer first, producers last). On an error it
// stops whatever it started.
func (t *Topology) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if err := t.StartBrokers(ctx); err != nil {
		return err
	}
	return t.StartWorkloads(ctx)
}

// StartBrokers starts the brokers, top level first, and the links between them (Start
// without the workloads; StartWorkloads follows).
func (t *Topology) StartBrokers(ctx context.Context) error {
	if err := t.Ports.Check(); err != nil {
		return err
	}
	// top level first; each child's link exists before the child, so its bridge
	// connects on the first attempt
	for i := len(Levels) - 1; i >= 0; i-- {
		l := Levels[i]
		if port, ok := t.linkPorts[l]; ok {
			link, err := NewLink(l+"-"+parent(l), fmt.Sprintf("127.0.0.1:%d", port), t.linkTargets[l])
			if err != nil {
				return err
			}
			t.Links[l] = link
		}
		if err := t.startBroker(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// StartWorkloads starts each workload after its sidecar: the consumer first, so that
// nothing published is waiting for a subscription.
func (t *Topology) StartWorkloads(ctx context.Context) error {
	if t.AzuritePort != 0 {
		dir := filepath.Join(t.Cfg.RunDir, "azurite")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if _, err := t.Sup.Start(ctx, supervise.ProcSpec{
			Name: "azurite",
			Path: t.Cfg.Azurite,
			Args: []string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(t.AzuritePort),
				"--location", dir, "--skipApiVersionCheck", "--loose"},
			Dir:          dir,
			Ready:        supervise.DialReady(fmt.Sprintf("127.0.0.1:%d", t.AzuritePort)),
			ReadyTimeout: t.Cfg.ReadyTimeout,
		}); err != nil {
			return err
		}
	}
	order := []string{DataGateway, OPCPLC, OPCPublisher, TempSensor}
	for _, w := range order {
		if _, ok := t.Apps[w]; !ok {
			continue
		}
		if s, ok := t.Sidecars[w]; ok {
			if err := t.startSidecar(ctx, s); err != nil {
				return err
			}
		}
		if err := t.startApp(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

func (t *Topology) startBroker(ctx context.Context, level string) error {
	b := t.Brokers[level]
	_, err := t.Sup.Start(ctx, supervise.ProcSpec{
		Name:         b.Name,
		Path:         t.Cfg.Mosquitto,
		Args:         []string{"-c", b.Files.ConfPath},
		Dir:          b.Files.Dir,
		Ready:        supervise.DialReady(b.Addr),
		ReadyTimeout: t.Cfg.ReadyTimeout,
	})
	return err
}

func (t *Topology) startSidecar(ctx context.Context, s *Sidecar) error {
	_, err := t.Sup.Start(ctx, supervise.ProcSpec{
		Name:         s.Name,
		Path:         t.Cfg.Daprd,
		Args:         s.Cmd.Args,
		Env:          s.Cmd.Env,
		Dir:          filepath.Dir(s.Files.ResourcesDir),
		Ready:        supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", s.HTTPPort)),
		ReadyTimeout: t.Cfg.ReadyTimeout,
	})
	return err
}

func (t *Topology) startApp(ctx context.Context, name string) error {
	spec, err := t.appSpec(ctx, name)
	if err != nil {
		return err
	}
	spec.ReadyTimeout = t.Cfg.ReadyTimeout
	_, err = t.Sup.Start(ctx, spec)
	return err
}

// AzuriteConnectionString is the local Blob emulator's connection string ("" without).
func (t *Topology) AzuriteConnectionString() string {
	if t.AzuritePort == 0 {
		return ""
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"+
		"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"+
		"BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;", t.AzuritePort)
}

// Kill sends SIGKILL (kill -9) to a process by its supervisor name: a workload, a
// sidecar ("daprd-<app>") or a broker ("mosquitto-<level>").
func (t *Topology) Kill(name string) error { return t.Sup.Kill(name) }

// Restart starts a killed or stopped process again and waits until it is ready.
func (t *Topology) Restart(ctx context.Context, name string) error { return t.Sup.Restart(ctx, name) }

// Stop stops name gracefully (SIGTERM, SIGKILL after 10 s).
func (t *Topology) Stop(name string) error {
	p := t.Sup.Get(name)
	if p == nil {
		return fmt.Errorf("topology: no process %s", name)
	}
	p.Stop()
	return nil
}

// StopProducers stops the producing workloads (and opcplc) gracefully, so that what
// they published can drain to the sink.
func (t *Topology) StopProducers() {
	for _, w := range []string{TempSensor, OPCPublisher, OPCPLC} {
		if p := t.Sup.Get(w); p != nil {
			p.Stop()
		}
	}
}

// Close stops every process (producers first, brokers last) and the links. It is
// idempotent.
func (t *Topology) Close() {
	t.closeOnce.Do(func() {
		t.Sup.Shutdown()
		for _, l := range t.Links {
			l.Close()
		}
	})
}

// FailSink makes the gateway's file sink fail: its directory is moved aside and a
// regular file takes its place, so creating or opening sink files fails (ENOTDIR) —
// even for root, which file permissions would not stop. The returned function puts the
// directory back.
func (t *Topology) FailSink() (restore func() error, err error) {
	aside := t.SinkDir + ".away"
	if err := os.Rename(t.SinkDir, aside); err != nil {
		return nil, fmt.Errorf("fail sink: %w", err)
	}
	if err := os.WriteFile(t.SinkDir, []byte("sink failure injected by the topology\n"), 0o444); err != nil {
		_ = os.Rename(aside, t.SinkDir)
		return nil, fmt.Errorf("fail sink: %w", err)
	}
	return func() error {
		if err := os.Remove(t.SinkDir); err != nil {
			return fmt.Errorf("restore sink: %w", err)
		}
		if err := os.Rename(aside, t.SinkDir); err != nil {
			return fmt.Errorf("restore sink: %w", err)
		}
		return nil
	}, nil
}

// PeakRSS returns each running process's peak resident set size (VmHWM) in bytes.
func (t *Topology) PeakRSS() map[string]int64 {
	return perProcess(t, func(pid int) (int64, error) { return statusKB(pid, "VmHWM:") })
}

// RSS returns each running process's resident set size (VmRSS) in bytes.
func (t *Topology) RSS() map[string]int64 {
	return perProcess(t, func(pid int) (int64, error) { return statusKB(pid, "VmRSS:") })
}

// ResetPeakRSS starts every running process's peak RSS (VmHWM) again from its current RSS
// (Linux's clear_refs "5"), so that PeakRSS after a phase is that phase's peak.
func (t *Topology) ResetPeakRSS() error {
	var errs []error
	for _, p := range t.Sup.Processes() {
		if pid := p.PID(); pid != 0 && !p.Exited() {
			if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
				errs = append(errs, fmt.Errorf("reset peak RSS of %s: %w", p.Spec.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// SetRate restarts the tempsensor at rate msg/s (its sidecar and sequence state stay).
func (t *Topology) SetRate(ctx context.Context, rate float64) error {
	p := t.Sup.Get(TempSensor)
	if p == nil {
		return fmt.Errorf("topology: set rate: no %s", TempSensor)
	}
	cfg := t.Cfg
	cfg.Rate = rate
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("topology: set rate: %w", err)
	}
	t.Cfg = cfg
	spec, err := t.appSpec(ctx, TempSensor)
	if err != nil {
		return err
	}
	spec.ReadyTimeout = t.Cfg.ReadyTimeout
	p.Stop()
	p.Spec = spec
	return p.Relaunch(ctx)
}

// CPUTime returns the CPU time (user + system) every running process has used so far,
// by process name.
func (t *Topology) CPUTime() map[string]time.Duration { return perProcess(t, CPUTimeOf) }

// perProcess reads a figure of every running process by name (processes it cannot be
// read for are left out).
func perProcess[V any](t *Topology, read func(pid int) (V, error)) map[string]V {
	out := map[string]V{}
	for _, p := range t.Sup.Processes() {
		if pid := p.PID(); pid != 0 && !p.Exited() {
			if v, err := read(pid); err == nil {
				out[p.Spec.Name] = v
			}
		}
	}
	return out
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux ABI Go
// supports.
const clockTicks = 100

// CPUTimeOf reads the CPU time (utime + stime) of pid from /proc/<pid>/stat.
func CPUTimeOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// the command name (field 2) may hold spaces: the fields after it follow the last ')'
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state); utime is field 14
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// statusKB reads a "<field> N kB" line of /proc/<pid>/status, in bytes.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// QueueLimit is the L2 broker's max_queued_messages, from its rendered mosquitto.conf: the
// backlog of a link outage that the broker keeps for its bridge.
func (t *Topology) QueueLimit() (int64, error) {
	b, err := os.ReadFile(t.Brokers["l2"].Files.ConfPath)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "max_queued_messages "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no max_queued_messages", t.Brokers["l2"].Files.ConfPath)
}
