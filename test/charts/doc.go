// Package charts holds the proof tests of the Helm charts under charts/: lint and render of
// every profile, schema rejections, the rendered mosquitto and Dapr configuration run by the
// real mosquitto and daprd, the Envoy bootstrap validated with go-control-plane, kubeconform,
// and installs into a real kube-apiserver (and a kwok fake cluster).
package charts
