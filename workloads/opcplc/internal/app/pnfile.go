package app

import (
	"fmt"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/config"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/plc"
	"github.com/edgeframe/edgeframe/workloads/opcplc/internal/web"
)

// endpointByIP is the endpoint URL with the host's IP address in place of the --ph host
// name (OPC PLC's --sp): the first IPv4 address the name resolves to, else the first
// non-loopback IPv4 address of an interface.
func endpointByIP(host string, port int) (string, error) {
	var ip net.IP
	if ips, err := net.LookupIP(host); err == nil {
		for _, a := range ips {
			if v4 := a.To4(); v4 != nil && !v4.IsLoopback() {
				ip = v4
				break
			}
		}
	}
	if ip == nil {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return "", fmt.Errorf("--sp: no IP address for %q: %w", host, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				ip = n.IP.To4()
				break
			}
		}
	}
	if ip == nil {
		return "", fmt.Errorf("--sp: no non-loopback IPv4 address for %q", host)
	}
	return "opc.tcp://" + net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
}

// writePNFile writes the publishednodes file of --sp/--sph (the /pn.json content) to
// path, atomically.
func writePNFile(path string, o web.Options, nodes []*plc.Node) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pn-*.json")
	if err != nil {
		return fmt.Errorf("--spf %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := web.Write(tmp, o, nodes); err != nil {
		tmp.Close()
		return fmt.Errorf("--spf %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--spf %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("--spf %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--spf %s: %w", path, err)
	}
	return nil
}

// showPublishedNodes writes o.PNFile for the server at endpoint (the --ph host name), or
// at its IP address with --sp.
func showPublishedNodes(o config.Config, endpoint string, nodes []*plc.Node) error {
	if o.PNUseIP {
		var err error
		if endpoint, err = endpointByIP(o.Server.Host, o.Server.Port); err != nil {
			return err
		}
		endpoint += o.Server.Path
	}
	return writePNFile(o.PNFile, web.Options{EndpointURL: endpoint, UseSecurity: !o.Server.UnsecureTransport, Group: o.Group}, nodes)
}
