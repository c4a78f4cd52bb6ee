"""O que cerca o VAE de `vae_core`: parâmetros, dados do MNIST, checkpoints, treino com
checkpoints, análises, o explorador interativo e figuras. Importa `vae_core`, nunca o contrário."""
