// podnet is the cluster's pod network: on every node it writes a CNI config for the node's own
// pod CIDR (ptp + host-local + portmap, plugins from the node image) and routes every other node's
// pod CIDR via that node's InternalIP. All kind nodes share one docker network (one L2 segment),
// so plain routes connect the pods; no overlay, no encapsulation.
//
// kind's own kindnetd plays this part upstream; it is not served by the module proxy these
// machines reach, so the offline cluster runs this instead (the same idea in far fewer lines).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const confName = "10-podnet.conflist"

func main() {
	nodeName := mustEnv("NODE_NAME")
	confDir := envOr("CNI_CONF_DIR", "/etc/cni/net.d")
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("podnet: in-cluster config: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r := &router{self: nodeName, confDir: confDir, routes: map[string]*net.IPNet{}}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	nodes := factory.Core().V1().Nodes().Informer()
	nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.sync(obj.(*corev1.Node)) },
		UpdateFunc: func(_, obj any) { r.sync(obj.(*corev1.Node)) },
		DeleteFunc: r.forget,
	})
	factory.Start(ctx.Done())
	log.Printf("podnet: watching nodes as %s, CNI config in %s", nodeName, confDir)
	<-ctx.Done()
}

// router keeps one route per remote node, keyed by node name.
type router struct {
	self    string
	confDir string
	mu      sync.Mutex
	routes  map[string]*net.IPNet
}

func (r *router) sync(node *corev1.Node) {
	cidr := podCIDR(node)
	if cidr == nil {
		return // the controller-manager has not allocated one yet: the next update will have it
	}
	if node.Name == r.self {
		if err := writeCNIConfig(r.confDir, cidr); err != nil {
			log.Printf("podnet: writing CNI config: %v", err)
		}
		return
	}
	gw := internalIP(node)
	if gw == nil {
		return
	}
	route := &netlink.Route{Dst: cidr, Gw: gw}
	if err := netlink.RouteReplace(route); err != nil {
		log.Printf("podnet: route %s via %s (%s): %v", cidr, gw, node.Name, err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.routes[node.Name]; old == nil || old.String() != cidr.String() {
		log.Printf("podnet: route %s via %s (%s)", cidr, gw, node.Name)
	}
	r.routes[node.Name] = cidr
}

func (r *router) forget(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		if tomb, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
			node, ok = tomb.Obj.(*corev1.Node)
		}
	}
	if !ok || node.Name == r.self {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cidr := r.routes[node.Name]; cidr != nil {
		if err := netlink.RouteDel(&netlink.Route{Dst: cidr}); err != nil {
			log.Printf("podnet: removing route %s (%s): %v", cidr, node.Name, err)
		}
		delete(r.routes, node.Name)
	}
}

func podCIDR(node *corev1.Node) *net.IPNet {
	for _, c := range append([]string{node.Spec.PodCIDR}, node.Spec.PodCIDRs...) {
		if _, cidr, err := net.ParseCIDR(c); err == nil && cidr.IP.To4() != nil {
			return cidr
		}
	}
	return nil
}

func internalIP(node *corev1.Node) net.IP {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}

// writeCNIConfig writes the conflist atomically, and only when it changes, so the container
// runtime never reads half a file and the kubelet's "network ready" flips once.
func writeCNIConfig(dir string, cidr *net.IPNet) error {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "podnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"mtu":    1500,
				"ipMasq": false,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state", // tmpfs: a restarted node starts with no leases
					"ranges":  [][]map[string]string{{{"subnet": cidr.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, confName)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	log.Printf("podnet: wrote %s for pod CIDR %s", path, cidr)
	return nil
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "podnet: environment variable %s is required\n", name)
		os.Exit(2)
	}
	return v
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
