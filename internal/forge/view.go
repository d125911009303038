package forge

// View is a pull request with its head's newest status per context, for pages that show it.
func (s *Server) View(orgRepo string, n int) (Pull, []Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.st.Repos[orgRepo]
	if rs == nil || rs.Pulls[n] == nil {
		return Pull{}, nil, false
	}
	p := rs.Pulls[n].clone()
	return p, latestPerContext(rs.Statuses, p.HeadSHA), true
}

// Combine is GitHub's combined state of the newest statuses of a commit.
func Combine(latest []Status) string { return combine(latest) }
