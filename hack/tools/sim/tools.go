//go:build tools

// Package tools pins github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim for the local test cluster.
package tools

import _ "github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim"
