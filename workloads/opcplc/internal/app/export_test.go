package app

// EndpointByIP exposes the --sp address lookup to the tests.
var EndpointByIP = endpointByIP
