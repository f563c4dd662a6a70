package server

// InjectFault lets the tests trigger one chaos action deterministically.
func (s *Server) InjectFault(dropSession bool) { s.injectFault(dropSession) }
