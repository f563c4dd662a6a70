package charts

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestFakeClusterSingleClusterProfile installs the single-cluster profile (the three levels as
// namespaces enforcing the restricted Pod Security profile) into a fake cluster -
// kube-apiserver, controller-manager, scheduler and a kwok node - and waits until every
// Deployment has its ready replicas: the ReplicaSet controller's pods pass Pod Security
// admission, get scheduled and (faked by kwok) run. Uninstall then removes everything,
// including the ReplicaSets and Pods the controllers made.
func TestFakeClusterSingleClusterProfile(t *testing.T) {
	fc := kubeenv.StartFakeCluster(t)
	c := newCluster(t, fc.API)
	var p chartrender.Profile
	for _, q := range profiles(t) {
		if q.Name == "single-cluster" {
			p = q
		}
	}
	if p.Name == "" {
		t.Fatal("no single-cluster profile")
	}
	c.restrictedNamespaces(t, p.Namespaces)

	// The claims (broker data, gateway buffer) bind to pre-made volumes: no provisioner here.
	claims := 0
	for _, r := range p.Releases {
		for _, o := range objects(t, manifestsOf(renderRelease(t, p, r))) {
			if o.GetKind() == "PersistentVolumeClaim" {
				claims++
			}
		}
	}
	ctx := context.Background()
	for i := 0; i < claims; i++ {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kwok-pv-%d", i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fmt.Sprintf("/tmp/kwok-pv-%d", i)}},
			},
		}
		if _, err := c.cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	for _, r := range p.Releases {
		c.install(t, p, r, nil, false)
	}
	var pending []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		pending = pending[:0]
		total := 0
		for _, ns := range p.Namespaces {
			ds, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, d := range ds.Items {
				total++
				want := int32(1)
				if d.Spec.Replicas != nil {
					want = *d.Spec.Replicas
				}
				if d.Status.ReadyReplicas != want {
					pending = append(pending, fmt.Sprintf("%s/%s %d/%d", ns, d.Name, d.Status.ReadyReplicas, want))
				}
			}
		}
		return total > 0 && len(pending) == 0, nil
	})
	if err != nil {
		for _, ns := range p.Namespaces {
			if evs, err := c.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for _, e := range evs.Items {
					if e.Type == corev1.EventTypeWarning {
						t.Logf("event %s/%s: %s %s", ns, e.InvolvedObject.Name, e.Reason, e.Message)
					}
				}
			}
		}
		t.Fatalf("Deployments not ready after 4 minutes: %s", strings.Join(pending, ", "))
	}
	deploys := 0
	for _, ns := range p.Namespaces {
		ds, _ := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		deploys += len(ds.Items)
	}
	t.Logf("fake cluster: %d Deployments ready in %v", deploys, p.Namespaces)

	for i := len(p.Releases) - 1; i >= 0; i-- {
		c.uninstall(t, p.Releases[i])
	}
	var left []string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		left = c.leftovers(t, p.Namespaces)
		// Claims bound to Retain volumes are deleted by Helm; only the PVs stay (cluster-scoped).
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("uninstall left %d objects behind: %v", len(left), left)
	}
}
