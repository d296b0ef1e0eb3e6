"""Surface proteins (CITE-seq antibody-derived tags, ADT) as a second modality.

Inputs (marrowtox.prot.io): the Antibody Capture features of a 10x HDF5 or matrix
folder, an .h5ad of protein counts named in the sample sheet's `adt` column, or
obsm['protein'] of an RNA .h5ad. Names are matched to the marker model through a
shipped alias table (marrowtox.prot.names); counts are normalised with muon (CLR, or
DSB when empty droplets are given); cells get protein labels (marrowtox.prot.annotate)
that are combined with the RNA labels by one stated rule (marrowtox.prot.labels).
Outputs follow scverse conventions: a MuData with modalities `rna` and `prot`.
"""
