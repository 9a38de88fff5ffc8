"""What the stages store for each other: embeddings, the similarity index, listening history."""
