package server

// IsOperator is isOperator of the session holding the nickname name, for
// the tests of package server_test: false if nobody holds it.
func (s *Server) IsOperator(name string) bool {
	sess := s.sessions.nick(name)
	return sess != nil && s.isOperator(sess)
}
