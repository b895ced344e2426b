// Command kstatus prints the kstatus verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute,
// the rules Flux and `kubectl wait`-style tools judge resources by) of each Kubernetes object it
// reads, one JSON object per line.
//
// Objects come as JSON or YAML, several documents per input, from the files named as arguments or
// from stdin; a List (kind: List, or any *List with items) counts as its items.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Error      string `json:"error,omitempty"`
}

func judge(u *unstructured.Unstructured) verdict {
	v := verdict{
		APIVersion: u.GetAPIVersion(),
		Kind:       u.GetKind(),
		Namespace:  u.GetNamespace(),
		Name:       u.GetName(),
	}
	res, err := status.Compute(u)
	if err != nil {
		v.Status, v.Error = status.UnknownStatus.String(), err.Error()
		return v
	}
	v.Status, v.Message = res.Status.String(), res.Message
	return v
}

func objects(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(r), 4096)
	var out []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		// Whole numbers become int64 (metadata.generation), as the API machinery reads them.
		var doc map[string]interface{}
		if err := kjson.Unmarshal(raw, &doc); err != nil {
			return out, err
		}
		if len(doc) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: doc}
		if u.IsList() {
			items, _, _ := unstructured.NestedSlice(doc, "items")
			for _, item := range items {
				if m, ok := item.(map[string]interface{}); ok {
					out = append(out, &unstructured.Unstructured{Object: m})
				}
			}
			continue
		}
		out = append(out, u)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	var all []*unstructured.Unstructured
	if len(args) == 0 {
		found, err := objects(stdin)
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		all = found
	}
	for _, path := range args {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		found, err := objects(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, found...)
	}
	enc := json.NewEncoder(stdout)
	for _, u := range all {
		if err := enc.Encode(judge(u)); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}
