package server

// isOperator reports whether sess is one of the server's operators.
// Until client keys land, nobody is.
func (s *Server) isOperator(sess *session) bool { return false }

// keyIDLocked names sess's key for moderation, "" without one.
func (sess *session) keyIDLocked() string { return "" }

// shortKeyLocked is sess's key's short fingerprint, "" without one.
func (sess *session) shortKeyLocked() string { return "" }
