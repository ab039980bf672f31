package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifests renders every kustomization a user applies and validates each object.
// OVERLAYS (comma-separated, relative to deploy/kubernetes) adds the user's own overlays.
func TestManifests(t *testing.T) {
	dirs := []string{"../base", "../overlays/example", "../overlays/example-keda"}
	for _, o := range strings.Split(os.Getenv("OVERLAYS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			if !filepath.IsAbs(o) {
				o = filepath.Join("..", o)
			}
			dirs = append(dirs, o)
		}
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			objs, err := Render(dir)
			if err != nil {
				t.Fatal(err)
			}
			err = objs.Check()
			if dir == "../base" {
				// The base names no image version: an overlay must.
				if err == nil || !strings.Contains(err.Error(), "has no version tag") || strings.Count(err.Error(), "\n") != 0 {
					t.Fatalf("base: want only the missing image tag, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExampleKEDAScalesDeployment: the KEDA overlay adds the ScaledObject and drops the replica count.
func TestExampleKEDAScalesDeployment(t *testing.T) {
	objs, err := Render("../overlays/example-keda")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.ScaledObjects) != 1 || len(objs.ServiceMonitors) != 1 {
		t.Fatalf("want one ScaledObject and one ServiceMonitor, have %d and %d", len(objs.ScaledObjects), len(objs.ServiceMonitors))
	}
	if objs.Deployments[0].Spec.Replicas != nil {
		t.Fatal("the Deployment still sets replicas")
	}
	plain, err := Render("../overlays/example")
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.ScaledObjects) != 0 || plain.Deployments[0].Spec.Replicas == nil {
		t.Fatal("the example without KEDA must set replicas and have no ScaledObject")
	}
}

// TestRejects shows the check failing on manifests that break a rule.
func TestRejects(t *testing.T) {
	for _, tt := range []struct {
		giveDir string
		wantErr string
	}{
		{"testdata/unknown-field", `unknown field "spec.template.spec.containers[0].livenessProbe.httpGet.paht"`},
		{"testdata/unknown-crd-field", `unknown field "spec.maxReplicas"`},
		{"testdata/subpath", "mounted with subPath"},
		{"testdata/keda-wrong-group", `consumerGroup "orders-sync" is not ORDERSYNC_GROUP_ID "ordersync"`},
		{"testdata/root", "runAsNonRoot must be true"},
	} {
		t.Run(tt.giveDir, func(t *testing.T) {
			objs, err := Render(tt.giveDir)
			if err == nil {
				err = objs.Check()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
			}
		})
	}
}
