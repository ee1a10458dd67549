"""Label quality: agreement, consensus and disagreement statistics."""
