// Package check renders the kustomizations under deploy/kubernetes in process and validates
// every object they produce without a cluster: each is decoded strictly (an unknown or
// duplicated field is an error) into the Kubernetes API types, or into the structs below for the
// ServiceMonitor and ScaledObject custom resources, and the objects are checked against each other
// and against what the worker needs (probes, non-root, read-only root, Secrets mounted whole so
// that a changed merchant registry reaches the running worker). See deploy/kubernetes/README.md.
package check

import (
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Objects is one rendered kustomization, decoded.
type Objects struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	ConfigMaps      []*corev1.ConfigMap
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceAccounts []*corev1.ServiceAccount
	ServiceMonitors []*ServiceMonitor
	ScaledObjects   []*ScaledObject
}

// ServiceMonitor is the part of the Prometheus Operator's monitoring.coreos.com/v1 ServiceMonitor
// these manifests may use; any other field is rejected.
type ServiceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// ScaledObject is the part of KEDA's keda.sh/v1alpha1 ScaledObject these manifests may use.
type ScaledObject struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

// kafkaTriggerKeys are the metadata keys of KEDA's kafka scaler that these manifests may set.
var kafkaTriggerKeys = map[string]bool{
	"bootstrapServers": true, "consumerGroup": true, "topic": true, "lagThreshold": true,
	"activationLagThreshold": true, "offsetResetPolicy": true, "allowIdleConsumers": true,
	"limitToPartitionsWithLag": true, "excludePersistentLag": true, "scaleToZeroOnInvalidOffset": true,
	"sasl": true, "tls": true,
}

var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
}()

// Render builds the kustomization in dir and decodes each object it yields.
func Render(dir string) (*Objects, error) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	objs := &Objects{}
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("render %s: %s: %w", dir, r.CurId(), err)
		}
		if err := objs.add(y); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
	}
	return objs, nil
}

func (o *Objects) add(y []byte) error {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return err
	}
	var tm metav1.TypeMeta
	if err := json.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + "/" + tm.Kind {
	case "monitoring.coreos.com/v1/ServiceMonitor":
		sm := &ServiceMonitor{}
		o.ServiceMonitors = append(o.ServiceMonitors, sm)
		return strictCRD(j, sm)
	case "keda.sh/v1alpha1/ScaledObject":
		so := &ScaledObject{}
		o.ScaledObjects = append(o.ScaledObjects, so)
		return strictCRD(j, so)
	}
	obj, _, err := decoder.Decode(j, nil, nil)
	if err != nil {
		return err
	}
	switch v := obj.(type) {
	case *appsv1.Deployment:
		o.Deployments = append(o.Deployments, v)
	case *corev1.Service:
		o.Services = append(o.Services, v)
	case *corev1.ConfigMap:
		o.ConfigMaps = append(o.ConfigMaps, v)
	case *policyv1.PodDisruptionBudget:
		o.PDBs = append(o.PDBs, v)
	case *corev1.ServiceAccount:
		o.ServiceAccounts = append(o.ServiceAccounts, v)
	default:
		return fmt.Errorf("kind %s %s is not one the check knows", tm.APIVersion, tm.Kind)
	}
	return nil
}

// strictCRD decodes a custom resource, rejecting unknown and duplicated fields (case-sensitive).
func strictCRD(j []byte, v any) error {
	strict, err := json.UnmarshalStrict(j, v, json.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// Check returns every way the objects fail what the worker needs, or nil.
func (o *Objects) Check() error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(o.Deployments) != 1 || len(o.Services) != 1 || len(o.ConfigMaps) != 1 || len(o.PDBs) != 1 {
		fail("want one Deployment, Service, ConfigMap and PodDisruptionBudget; have %d, %d, %d, %d",
			len(o.Deployments), len(o.Services), len(o.ConfigMaps), len(o.PDBs))
		return errors.Join(errs...)
	}
	d, svc, cm, pdb := o.Deployments[0], o.Services[0], o.ConfigMaps[0], o.PDBs[0]
	pod := d.Spec.Template
	podLabels := pod.Labels
	if !selects(d.Spec.Selector, podLabels) {
		fail("Deployment %s: selector does not select its own pods", d.Name)
	}
	if !selects(pdb.Spec.Selector, podLabels) {
		fail("PodDisruptionBudget %s: selector does not select the worker's pods", pdb.Name)
	}
	if !selects(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
		fail("Service %s: selector does not select the worker's pods", svc.Name)
	}
	psc := pod.Spec.SecurityContext
	if len(pod.Spec.Containers) != 1 {
		fail("Deployment %s: want one container, have %d", d.Name, len(pod.Spec.Containers))
		return errors.Join(errs...)
	}
	c := pod.Spec.Containers[0]
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		fail("Deployment %s: pod securityContext.runAsNonRoot must be true", d.Name)
	}
	csc := c.SecurityContext
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		fail("container %s: securityContext.readOnlyRootFilesystem must be true", c.Name)
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		fail("container %s: securityContext.allowPrivilegeEscalation must be false", c.Name)
	}
	for _, want := range []struct {
		probe *corev1.Probe
		name  string
		path  string
	}{{c.LivenessProbe, "livenessProbe", "/healthz"}, {c.ReadinessProbe, "readinessProbe", "/readyz"}} {
		if want.probe == nil || want.probe.HTTPGet == nil || want.probe.HTTPGet.Path != want.path {
			fail("container %s: %s must GET %s", c.Name, want.name, want.path)
			continue
		}
		if !hasPort(c, want.probe.HTTPGet.Port.String()) {
			fail("container %s: %s port %s is not a container port", c.Name, want.name, want.probe.HTTPGet.Port.String())
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		fail("container %s: needs cpu and memory requests and a memory limit", c.Name)
	}
	if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
		fail("container %s: image %q has no version tag", c.Name, c.Image)
	}
	secretMounts := map[string]string{} // mount path → volume
	for _, v := range pod.Spec.Volumes {
		if v.Secret == nil && v.Projected == nil {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name != v.Name {
				continue
			}
			// A Secret mounted with subPath is never updated in a running pod.
			if m.SubPath != "" || m.SubPathExpr != "" {
				fail("container %s: Secret volume %s mounted with subPath: updates would not reach the worker", c.Name, v.Name)
			}
			secretMounts[m.MountPath] = v.Name
		}
	}
	for _, setting := range []string{"ORDERSYNC_MERCHANTS_FILE"} {
		path, ok := cm.Data[setting]
		if !ok {
			fail("ConfigMap %s: %s is not set", cm.Name, setting)
			continue
		}
		if !under(path, secretMounts) {
			fail("ConfigMap %s: %s=%s is not in a mounted Secret", cm.Name, setting, path)
		}
	}
	if !referencesConfigMap(c, cm.Name) {
		fail("container %s: does not take its settings from ConfigMap %s", c.Name, cm.Name)
	}
	for _, sm := range o.ServiceMonitors {
		if !selects(&sm.Spec.Selector, svc.Labels) {
			fail("ServiceMonitor %s: selector does not select Service %s", sm.Metadata.Name, svc.Name)
		}
		for _, ep := range sm.Spec.Endpoints {
			if !servicePort(svc, ep.Port) {
				fail("ServiceMonitor %s: port %q is not a port of Service %s", sm.Metadata.Name, ep.Port, svc.Name)
			}
		}
	}
	for _, so := range o.ScaledObjects {
		errs = append(errs, checkScaledObject(so, d, cm)...)
	}
	return errors.Join(errs...)
}

func checkScaledObject(so *ScaledObject, d *appsv1.Deployment, cm *corev1.ConfigMap) []error {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("ScaledObject %s: "+format, append([]any{so.Metadata.Name}, a...)...))
	}
	if so.Spec.ScaleTargetRef.Name != d.Name {
		fail("scales %q, not Deployment %s", so.Spec.ScaleTargetRef.Name, d.Name)
	}
	if d.Spec.Replicas != nil {
		fail("Deployment %s also sets replicas: each apply would fight KEDA", d.Name)
	}
	if so.Spec.MaxReplicaCount == nil {
		fail("maxReplicaCount is not set (it must be the partition count)")
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "kafka" {
		fail("want one kafka trigger")
		return errs
	}
	md := so.Spec.Triggers[0].Metadata
	for k := range md {
		if !kafkaTriggerKeys[k] {
			fail("kafka trigger: unknown metadata key %q", k)
		}
	}
	if md["consumerGroup"] != cm.Data["ORDERSYNC_GROUP_ID"] {
		fail("kafka trigger consumerGroup %q is not ORDERSYNC_GROUP_ID %q", md["consumerGroup"], cm.Data["ORDERSYNC_GROUP_ID"])
	}
	if !inList(md["topic"], cm.Data["ORDERSYNC_TOPICS"]) {
		fail("kafka trigger topic %q is not one of ORDERSYNC_TOPICS %q", md["topic"], cm.Data["ORDERSYNC_TOPICS"])
	}
	if md["bootstrapServers"] != cm.Data["ORDERSYNC_BROKERS"] {
		fail("kafka trigger bootstrapServers %q is not ORDERSYNC_BROKERS %q", md["bootstrapServers"], cm.Data["ORDERSYNC_BROKERS"])
	}
	if md["allowIdleConsumers"] != "false" {
		fail("kafka trigger allowIdleConsumers must be \"false\": replicas beyond the partition count sit idle")
	}
	return errs
}

func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil || len(sel.MatchExpressions) > 0 || len(sel.MatchLabels) == 0 {
		return false
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func servicePort(svc *corev1.Service, name string) bool {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

func under(path string, mounts map[string]string) bool {
	for m := range mounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}

func referencesConfigMap(c corev1.Container, name string) bool {
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && e.ConfigMapRef.Name == name {
			return true
		}
	}
	return false
}

func inList(item, list string) bool {
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == item && item != "" {
			return true
		}
	}
	return false
}
