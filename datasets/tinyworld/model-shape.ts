/** Context length of the TinyWorld model (config.json max_position_embeddings); stories are at most ~150 words. */
export const MAX_POSITIONS = 256;
