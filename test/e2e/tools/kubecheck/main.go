// Command kubecheck validates a stream of Kubernetes manifests, as `helm template` prints them,
// against the API types of the Kubernetes version this module pins (k8s.io/api in go.mod), and
// prints the decoded objects as one JSON array. It exists so that test/e2e/helmChart.test.ts can
// check the chart's output without a cluster.
//
// Every document is decoded strictly, the way the API server decodes a request with
// fieldValidation=Strict: a kind or apiVersion that the pinned version does not serve, a field
// its types do not have, a duplicate field or a value of the wrong type (a malformed quantity,
// a string for an integer) is an error. Strict decoding does not see the rules the API server
// checks after decoding, so the ones a chart most often breaks are checked here too, with
// apimachinery's own validators: object names and labels, selectors that match their pod
// template, port names, and probes that name a port the container declares.
//
// Usage: kubecheck [FILE] (standard input when FILE is absent or "-"). Exit status: 0 and the
// JSON array on stdout when every document is valid; 1 and one line per problem on stderr when
// not; 2 on wrong usage.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	in := io.Reader(os.Stdin)
	switch {
	case len(os.Args) > 2:
		fmt.Fprintln(os.Stderr, "usage: kubecheck [FILE]")
		os.Exit(2)
	case len(os.Args) == 2 && os.Args[1] != "-":
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "kubecheck: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	objects, problems := check(in)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "kubecheck: %s\n", p)
		}
		os.Exit(1)
	}
	out, err := json.Marshal(objects)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubecheck: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}

// newDecoder decodes JSON strictly into the types of the API groups a chart of ours may render.
// A kind outside them (or an apiVersion the pinned Kubernetes no longer serves) is an error.
func newDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, batchv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Strict: true})
}

func check(in io.Reader) ([]runtime.Object, []string) {
	decoder := newDecoder()
	reader := kyaml.NewYAMLReader(bufio.NewReader(in))
	var objects []runtime.Object
	var problems []string
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, append(problems, fmt.Sprintf("document %d: %v", n, err))
		}
		// yaml.YAMLToJSONStrict refuses duplicate keys, which a plain YAML parse keeps silently.
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", n, err))
			continue
		}
		if trimmed := bytes.TrimSpace(js); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
			continue // only comments, as helm prints for a template that renders nothing
		}
		obj, gvk, err := decoder.Decode(js, nil, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", n, err))
			continue
		}
		name := gvk.Kind + "/" + metaName(obj)
		for _, e := range validate(obj) {
			problems = append(problems, fmt.Sprintf("%s: %v", name, e))
		}
		objects = append(objects, obj)
	}
	if len(objects) == 0 && len(problems) == 0 {
		problems = append(problems, "no objects in the input")
	}
	return objects, problems
}

func metaName(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetName()
	}
	return "?"
}

// validate applies the API server's rules that strict decoding does not.
func validate(obj runtime.Object) field.ErrorList {
	meta := field.NewPath("metadata")
	switch o := obj.(type) {
	case *corev1.Service:
		errs := apivalidation.ValidateObjectMeta(&o.ObjectMeta, false, apivalidation.NameIsDNS1035Label, meta)
		for i, p := range o.Spec.Ports {
			errs = append(errs, portName(p.Name, field.NewPath("spec", "ports").Index(i).Child("name"))...)
		}
		return errs
	case *appsv1.Deployment:
		errs := apivalidation.ValidateObjectMeta(&o.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, selects(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec", "selector"))...)
		return append(errs, podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))...)
	case *appsv1.StatefulSet:
		errs := apivalidation.ValidateObjectMeta(&o.ObjectMeta, false, apivalidation.NameIsDNSLabel, meta)
		errs = append(errs, selects(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec", "selector"))...)
		return append(errs, podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))...)
	case metav1.Object:
		m := metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Annotations: o.GetAnnotations()}
		return apivalidation.ValidateObjectMeta(&m, false, apivalidation.NameIsDNSSubdomain, meta)
	}
	return nil
}

func selects(selector *metav1.LabelSelector, podLabels map[string]string, path *field.Path) field.ErrorList {
	if selector == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return field.ErrorList{field.Invalid(path, selector, err.Error())}
	}
	if s.Empty() || !s.Matches(labels.Set(podLabels)) {
		return field.ErrorList{field.Invalid(path, selector, "`selector` does not match template `labels`")}
	}
	return nil
}

func portName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

// podSpec checks container port names and that every probe's named port is declared.
func podSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range spec.Containers {
		cp := path.Child("containers").Index(i)
		declared := map[string]bool{}
		for j, p := range c.Ports {
			errs = append(errs, portName(p.Name, cp.Child("ports").Index(j).Child("name"))...)
			declared[p.Name] = true
		}
		for probeName, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if probe == nil || probe.HTTPGet == nil {
				continue
			}
			port := probe.HTTPGet.Port
			if port.Type == intstr.String && !declared[port.StrVal] {
				errs = append(errs, field.NotFound(cp.Child(probeName, "httpGet", "port"), port.StrVal))
			}
		}
	}
	return errs
}
