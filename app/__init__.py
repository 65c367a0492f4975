"""SKM: Survei Kepuasan Masyarakat service (PermenPAN-RB 14/2017)."""
