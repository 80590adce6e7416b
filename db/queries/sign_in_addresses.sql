-- name: RememberSignInAddress :exec
INSERT INTO sign_in_addresses (user_id, client, expires_at)
VALUES (@user_id, @client, @expires_at)
ON CONFLICT (user_id, client) DO UPDATE
SET expires_at = greatest(sign_in_addresses.expires_at, excluded.expires_at);

-- name: SignInAddressKnown :one
SELECT EXISTS (
    SELECT 1 FROM sign_in_addresses WHERE user_id = @user_id AND client = @client AND expires_at > @now
) AS known;

-- name: ForgetSignInAddresses :exec
DELETE FROM sign_in_addresses WHERE user_id = @user_id;

-- name: DeleteExpiredSignInAddresses :execrows
DELETE FROM sign_in_addresses WHERE expires_at < @now;
