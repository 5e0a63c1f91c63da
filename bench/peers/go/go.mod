module openim-policy/bench/peers/go

go 1.22

require github.com/petar-dambovaliev/aho-corasick v0.0.0-20250424160509-463d218d4745
