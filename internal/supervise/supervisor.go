package supervise

import (
	"context"
	"fmt"
	"sync"
	"syscall"
)

// Supervisor owns a set of named child processes (a topology's): it starts them (own process
// group, SIGKILL when the supervisor dies, output in LogDir/<name>.log, readiness
// wait), finds them by name for chaos (kill, stop, restart) and stops every one of them
// on Shutdown. The demo and the tests use the same supervisor.
type Supervisor struct {
	LogDir string

	mu     sync.Mutex
	order  []string
	byName map[string]*Process
}

// NewSupervisor writes process logs into logDir.
func NewSupervisor(logDir string) *Supervisor {
	return &Supervisor{LogDir: logDir, byName: map[string]*Process{}}
}

// Start launches spec and waits until it is ready. Names are unique.
func (s *Supervisor) Start(ctx context.Context, spec ProcSpec) (*Process, error) {
	s.mu.Lock()
	if _, dup := s.byName[spec.Name]; dup {
		s.mu.Unlock()
		return nil, fmt.Errorf("supervisor: a process named %s already exists", spec.Name)
	}
	s.mu.Unlock()
	p, err := Launch(ctx, spec, s.LogDir)
	if p != nil {
		s.mu.Lock()
		s.order = append(s.order, spec.Name)
		s.byName[spec.Name] = p
		s.mu.Unlock()
	}
	return p, err
}

// Get returns the process called name, or nil.
func (s *Supervisor) Get(name string) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[name]
}

// Processes lists the processes in start order.
func (s *Supervisor) Processes() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Process, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.byName[n])
	}
	return out
}

// Kill sends SIGKILL to name's process group (kill -9) and waits until it has exited.
func (s *Supervisor) Kill(name string) error {
	p := s.Get(name)
	if p == nil {
		return fmt.Errorf("supervisor: no process %s", name)
	}
	p.Kill()
	return nil
}

// Restart starts name again (killing it first if it still runs) and waits until ready.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	p := s.Get(name)
	if p == nil {
		return fmt.Errorf("supervisor: no process %s", name)
	}
	return p.Relaunch(ctx)
}

// Shutdown stops every process at once (SIGTERM to its process group, SIGKILL after
// 10 s) and returns when all have exited. Callers that need producers to finish first
// stop them before (topology.Topology.StopProducers).
func (s *Supervisor) Shutdown() {
	var wg sync.WaitGroup
	for _, p := range s.Processes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop()
		}()
	}
	wg.Wait()
}

// Orphans returns the processes whose group still has members after Shutdown (none is
// the contract); used by tests.
func (s *Supervisor) Orphans() []string {
	var out []string
	for _, p := range s.Processes() {
		pid := p.PID()
		if pid == 0 {
			continue
		}
		if err := syscall.Kill(-pid, 0); err == nil {
			out = append(out, fmt.Sprintf("%s (pgid %d)", p.Spec.Name, pid))
		}
	}
	return out
}
